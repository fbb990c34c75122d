#include "service/heap_dir.h"

#include <dirent.h>
#include <grp.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "base/check.h"
#include "heap/dma_heap.h"
#include "ipc/paths.h"

namespace dmaheap {
namespace {

void Log(const char* what, const std::string& path, int err) {
  std::fprintf(stderr, "dmaheapd: %s %s: %s\n", what, path.c_str(), std::strerror(err));
}

// Decimal digits only, no sign, no blanks: what a mode or a gid is written with.
bool AllDigits(const std::string& text, int base) {
  if (text.empty()) return false;
  for (char c : text) {
    if (c < '0' || c > (base == 8 ? '7' : '9')) return false;
  }
  return true;
}

Result<gid_t> ParseGroup(const std::string& text, const std::string& group) {
  if (AllDigits(group, 10)) {
    errno = 0;
    const unsigned long long gid = std::strtoull(group.c_str(), nullptr, 10);
    // (gid_t)-1 means "no change" to chown: not a group either.
    if (errno == 0 && gid < static_cast<gid_t>(-1)) return static_cast<gid_t>(gid);
    std::fprintf(stderr, "dmaheapd: --heap-mode %s: group %s is not a gid\n", text.c_str(),
                 group.c_str());
    return Errno(EINVAL);
  }
  if (const struct group* g = group.empty() ? nullptr : ::getgrnam(group.c_str())) return g->gr_gid;
  std::fprintf(stderr, "dmaheapd: --heap-mode %s: unknown group '%s'\n", text.c_str(),
               group.c_str());
  return Errno(EINVAL);
}

}  // namespace

Result<std::pair<std::string, HeapSocketMode>> ParseHeapMode(const std::string& text) {
  const size_t eq = text.find('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == text.size()) {
    std::fprintf(stderr, "dmaheapd: --heap-mode %s: expected NAME=MODE[:GROUP]\n", text.c_str());
    return Errno(EINVAL);
  }
  std::string name = text.substr(0, eq);
  std::string rest = text.substr(eq + 1);
  std::string group;
  const size_t colon = rest.find(':');
  if (colon != std::string::npos) {
    group = rest.substr(colon + 1);
    rest = rest.substr(0, colon);
  }
  const unsigned long mode = AllDigits(rest, 8) ? std::strtoul(rest.c_str(), nullptr, 8) : ~0UL;
  if (mode > 0777) {
    std::fprintf(stderr, "dmaheapd: --heap-mode %s: MODE must be octal, at most 0777\n",
                 text.c_str());
    return Errno(EINVAL);
  }
  HeapSocketMode m;
  m.mode = static_cast<mode_t>(mode);
  if (colon != std::string::npos) {  // "NAME=MODE:" names no group: refused, not ignored
    m.gid = TRY(ParseGroup(text, group));
    m.set_gid = true;
  }
  return std::make_pair(name, m);
}

Result<UniqueFd> ListenAt(const std::string& path, mode_t mode) {
  if (path.size() > kMaxSocketPath) return Errno(ENAMETOOLONG);
  UniqueFd fd(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd) return Errno(errno);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  ::unlink(path.c_str());
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    const int err = errno;
    Log("cannot bind", path, err);
    return Errno(err);
  }
  if (::chmod(path.c_str(), mode) != 0) return Errno(errno);
  if (::listen(fd.get(), 128) != 0) return Errno(errno);
  return fd;
}

Result<std::unique_ptr<HeapDirectory>> HeapDirectory::Create(const ServerConfig& config,
                                                             const std::vector<DmaHeap*>& heaps) {
  const std::string& dir = config.heap_dir;
  // Every path is validated before anything is created.
  for (DmaHeap* heap : heaps) TRY(HeapSocketPath(dir + ".tmp.XXXXXX", heap->name()));
  struct stat st {};
  if (::stat(dir.c_str(), &st) == 0 && (!S_ISDIR(st.st_mode) || ::rmdir(dir.c_str()) != 0)) {
    std::fprintf(stderr,
                 "dmaheapd: heap directory %s exists and is not an empty directory (another "
                 "dmaheapd?)\n",
                 dir.c_str());
    return Errno(EEXIST);
  }
  std::string tmp = dir + ".tmp.XXXXXX";
  if (::mkdtemp(tmp.data()) == nullptr) {
    const int err = errno;
    Log("cannot create", tmp, err);
    return Errno(err);
  }
  ::chmod(tmp.c_str(), 0755);
  std::unique_ptr<HeapDirectory> out(new HeapDirectory(config));
  auto discard = [&](int err) -> Error {
    for (const auto& [heap, fd] : out->sockets_) ::unlink((tmp + "/" + heap->name()).c_str());
    ::rmdir(tmp.c_str());
    out->sockets_.clear();
    return Errno(err);
  };
  for (DmaHeap* heap : heaps) {
    Result<UniqueFd> fd = out->Bind(tmp, *heap);
    if (!fd.ok()) return discard(fd.error());
    out->sockets_.emplace(heap, std::move(fd).value());
  }
  // All heaps at once: the directory appears with every socket already listening.
  if (::rename(tmp.c_str(), dir.c_str()) != 0) {
    const int err = errno;
    Log(("cannot rename " + tmp + " to").c_str(), dir, err);
    return discard(err);
  }
  return out;
}

HeapDirectory::~HeapDirectory() {
  for (const auto& [heap, fd] : sockets_) ::unlink((config_.heap_dir + "/" + heap->name()).c_str());
  sockets_.clear();
  ::rmdir(config_.heap_dir.c_str());
}

Result<UniqueFd> HeapDirectory::Bind(const std::string& dir, const DmaHeap& heap) const {
  HeapSocketMode mode = config_.default_mode;
  if (heap.name() == "system") mode.mode = 0666;
  if (auto it = config_.heap_modes.find(heap.name()); it != config_.heap_modes.end())
    mode = it->second;
  const std::string path = TRY(HeapSocketPath(dir, heap.name()));
  UniqueFd fd = TRY(ListenAt(path, mode.mode));
  if (mode.set_gid && ::chown(path.c_str(), static_cast<uid_t>(-1), mode.gid) != 0) {
    const int err = errno;
    Log(("cannot set group " + std::to_string(mode.gid) + " on").c_str(), path, err);
    ::unlink(path.c_str());
    return Errno(err);
  }
  return fd;
}

HeapDirectory::Change HeapDirectory::Sync(const std::vector<DmaHeap*>& heaps) {
  Change change;
  for (auto it = sockets_.begin(); it != sockets_.end();) {
    if (std::find(heaps.begin(), heaps.end(), it->first) != heaps.end()) {
      ++it;
      continue;
    }
    change.removed.push_back({it->second.get(), it->first});
    it = sockets_.erase(it);  // closes the listener
  }
  // Unlink sockets whose heap is gone (names are unique among live heaps; the heap objects of
  // removed listeners may be gone already, so their names are not read).
  if (DIR* d = ::opendir(config_.heap_dir.c_str())) {
    while (dirent* e = ::readdir(d)) {
      const std::string name = e->d_name;
      if (name == "." || name == "..") continue;
      const bool live =
          std::any_of(heaps.begin(), heaps.end(), [&](DmaHeap* h) { return h->name() == name; });
      if (!live) ::unlink((config_.heap_dir + "/" + name).c_str());
    }
    ::closedir(d);
  }
  for (DmaHeap* heap : heaps) {
    if (sockets_.count(heap) != 0) continue;
    Result<UniqueFd> fd = Bind(config_.heap_dir, *heap);
    if (!fd.ok()) continue;  // logged; the heap is served only embedded
    change.added.push_back({fd->get(), heap});
    sockets_.emplace(heap, std::move(fd).value());
  }
  return change;
}

std::vector<HeapDirectory::Listener> HeapDirectory::listeners() const {
  std::vector<Listener> out;
  for (const auto& [heap, fd] : sockets_) out.push_back({fd.get(), heap});
  return out;
}

DmaHeap* HeapDirectory::HeapOf(int listen_fd) const {
  for (const auto& [heap, fd] : sockets_) {
    if (fd.get() == listen_fd) return heap;
  }
  return nullptr;
}

}  // namespace dmaheap
