#include "dmabuf/bufinfo.h"

#include "platform/fd_info.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace dmaheap {
namespace {

constexpr const char* kMemfdPrefix = sys::kBufferLinkPrefix;

bool IsPid(const char* name) {
  if (*name == '\0') return false;
  for (const char* p = name; *p != '\0'; ++p) {
    if (*p < '0' || *p > '9') return false;
  }
  return true;
}

void CountFds(const char* pid, dev_t dev, std::map<ino_t, long>& counts) {
  char dir_path[64];
  std::snprintf(dir_path, sizeof(dir_path), "/proc/%s/fd", pid);
  DIR* dir = ::opendir(dir_path);
  if (dir == nullptr) return;
  int dfd = ::dirfd(dir);
  while (dirent* e = ::readdir(dir)) {
    if (e->d_name[0] == '.') continue;
    char target[256];
    ssize_t n = ::readlinkat(dfd, e->d_name, target, sizeof(target) - 1);
    if (n <= 0) continue;
    target[n] = '\0';
    if (std::strncmp(target, kMemfdPrefix, std::strlen(kMemfdPrefix)) != 0) continue;
    struct stat st {};
    if (::fstatat(dfd, e->d_name, &st, 0) != 0 || st.st_dev != dev) continue;
    auto it = counts.find(st.st_ino);
    if (it != counts.end()) ++it->second;
  }
  ::closedir(dir);
}

// /proc/PID/maps: "start-end perms offset major:minor inode path".
void CountMaps(const char* pid, std::map<ino_t, long>& counts) {
  char path[64];
  std::snprintf(path, sizeof(path), "/proc/%s/maps", pid);
  FILE* f = std::fopen(path, "re");
  if (f == nullptr) return;
  char line[1024];
  while (std::fgets(line, sizeof(line), f) != nullptr) {
    const char* name = std::strstr(line, kMemfdPrefix);
    if (name == nullptr) continue;
    unsigned long long inode = 0;
    if (std::sscanf(line, "%*s %*s %*s %*s %llu", &inode) != 1) continue;
    auto it = counts.find(static_cast<ino_t>(inode));
    if (it != counts.end()) ++it->second;
  }
  std::fclose(f);
}

}  // namespace

std::map<ino_t, long> CountHolders(dev_t dev, const std::vector<ino_t>& inodes) {
  std::map<ino_t, long> counts;
  for (ino_t ino : inodes) counts.emplace(ino, 0);
  if (inodes.empty()) return counts;
  DIR* proc = ::opendir("/proc");
  if (proc == nullptr) return counts;
  while (dirent* e = ::readdir(proc)) {
    if (!IsPid(e->d_name)) continue;
    CountFds(e->d_name, dev, counts);
    CountMaps(e->d_name, counts);
  }
  ::closedir(proc);
  return counts;
}

std::string FormatBufInfo(const std::vector<DmaBufRef>& buffers,
                          const std::map<ino_t, long>& holders) {
  std::string out = "\nDma-buf Objects:\n";
  char line[512];
  std::snprintf(line, sizeof(line), "%-8s\t%-8s\t%-8s\t%-8s\texp_name\t%-8s\tname\n", "size",
                "flags", "mode", "count", "ino");
  out += line;
  uint64_t total = 0;
  for (const DmaBufRef& buf : buffers) {
    // f_mode of a dma-buf file: OPEN_FMODE(flags) (O_RDONLY → FMODE_READ, O_WRONLY →
    // FMODE_WRITE, O_RDWR → both, 3 → neither) | FMODE_OPENED (0x80000), as alloc_file sets it.
    const uint32_t f_mode = ((buf->f_flags() + 1) & 3u) | 0x80000u;
    auto it = holders.find(buf->ino());
    const long count = it == holders.end() ? 0 : it->second;
    std::string name = buf->name();
    std::snprintf(line, sizeof(line), "%08" PRIu64 "\t%08x\t%08x\t%08ld\t%s\t%08" PRIu64 "\t%s\n",
                  buf->size(), buf->f_flags(), f_mode, count, buf->exp_name().c_str(),
                  static_cast<uint64_t>(buf->ino()), name.empty() ? "<none>" : name.c_str());
    out += line;
    // No fences are modelled: dma_resv_describe prints nothing for an idle reservation.
    out += "\tAttached Devices:\n";
    const std::vector<std::string> devices = buf->attached_devices();
    for (const std::string& device : devices) out += "\t" + device + "\n";
    std::snprintf(line, sizeof(line), "Total %zu devices attached\n\n", devices.size());
    out += line;
    total += buf->size();
  }
  std::snprintf(line, sizeof(line), "\nTotal %zu objects, %" PRIu64 " bytes\n", buffers.size(),
                total);
  out += line;
  return out;
}

}  // namespace dmaheap
