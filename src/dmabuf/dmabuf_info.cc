#include "dmabuf/dmabuf_info.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <set>

#include "base/json.h"
#include "platform/fd_info.h"

namespace dmaheap {
namespace {

constexpr char kKernelDmaBufPrefix[] = "/dmabuf:";
constexpr char kNotFound[] = "dmabuf info not found \u00af\\_(\u30c4)_/\u00af\n";

bool IsNumber(const char* s) {
  if (*s == '\0') return false;
  for (; *s != '\0'; ++s) {
    if (*s < '0' || *s > '9') return false;
  }
  return true;
}

std::string ReadComm(const std::string& dir) {
  FILE* f = std::fopen((dir + "/comm").c_str(), "re");
  if (f == nullptr) return "<unknown>";
  char buf[64] = {};
  if (std::fgets(buf, sizeof(buf), f) == nullptr) buf[0] = '\0';
  std::fclose(f);
  buf[std::strcspn(buf, "\n")] = '\0';
  return buf;
}

// A kernel dma-buf's exp_name and name from its fdinfo; false when the file is no dma-buf.
bool ReadKernelFdinfo(const std::string& path, std::string* exporter, std::string* name) {
  FILE* f = std::fopen(path.c_str(), "re");
  if (f == nullptr) return false;
  char line[256];
  bool found = false;
  while (std::fgets(line, sizeof(line), f) != nullptr) {
    line[std::strcspn(line, "\n")] = '\0';
    if (std::strncmp(line, "exp_name:", 9) == 0) {
      *exporter = line + 9 + std::strspn(line + 9, " \t");
      found = true;
    } else if (std::strncmp(line, "name:", 5) == 0) {
      *name = line + 5 + std::strspn(line + 5, " \t");
    }
  }
  std::fclose(f);
  return found;
}

class Collector {
 public:
  DmaBufferInfo& Buffer(uint64_t inode) {
    auto [it, fresh] = by_inode_.try_emplace(inode);
    if (fresh) it->second.inode = inode;
    return it->second;
  }

  void ScanFds(pid_t pid, const std::string& dir) {
    DIR* d = ::opendir((dir + "/fd").c_str());
    if (d == nullptr) return;
    const int dfd = ::dirfd(d);
    while (dirent* e = ::readdir(d)) {
      if (!IsNumber(e->d_name)) continue;
      char target[512];
      const ssize_t n = ::readlinkat(dfd, e->d_name, target, sizeof(target) - 1);
      if (n <= 0) continue;
      target[n] = '\0';
      std::string exporter = sys::HeapOfLinkTarget(target);
      std::string name;
      const bool kernel = exporter.empty() &&
                          std::strncmp(target, kKernelDmaBufPrefix, sizeof(kKernelDmaBufPrefix) - 1) == 0 &&
                          ReadKernelFdinfo(dir + "/fdinfo/" + e->d_name, &exporter, &name);
      if (exporter.empty() && !kernel) continue;
      struct stat st {};
      if (::fstatat(dfd, e->d_name, &st, 0) != 0) continue;  // closed meanwhile
      DmaBufferInfo& b = Buffer(st.st_ino);
      b.size = static_cast<uint64_t>(st.st_size);
      b.exporter = exporter;
      if (!name.empty()) b.name = name;
      ++b.fd_refs[pid];
      comms_[pid];
    }
    ::closedir(d);
  }

  // /proc/PID/maps: "start-end perms offset dev inode path"; one map ref per VMA.
  void ScanMaps(pid_t pid, const std::string& dir) {
    FILE* f = std::fopen((dir + "/maps").c_str(), "re");
    if (f == nullptr) return;
    char line[1024];
    while (std::fgets(line, sizeof(line), f) != nullptr) {
      const char* path = std::strchr(line, '/');
      if (path == nullptr) continue;
      std::string_view p(path, std::strcspn(path, "\n"));
      std::string exporter = sys::HeapOfLinkTarget(p);
      if (exporter.empty() && p.substr(0, sizeof(kKernelDmaBufPrefix) - 1) != kKernelDmaBufPrefix)
        continue;
      unsigned long long start = 0, end = 0, inode = 0;
      if (std::sscanf(line, "%llx-%llx %*s %*s %*s %llu", &start, &end, &inode) != 3) continue;
      DmaBufferInfo& b = Buffer(inode);
      if (b.exporter.empty()) b.exporter = exporter.empty() ? "<unknown>" : exporter;
      if (b.size == 0) b.size = end - start;  // only a mapping seen: its length
      ++b.map_refs[pid];
      comms_[pid];
    }
    std::fclose(f);
  }

  DmaBufSnapshot Finish(const std::string& procfs) {
    DmaBufSnapshot snap;
    for (auto& [inode, b] : by_inode_) snap.buffers.push_back(std::move(b));
    for (auto& [pid, comm] : comms_) {
      snap.comms[pid] = ReadComm(procfs + "/" + std::to_string(pid));
    }
    return snap;
  }

 private:
  std::map<uint64_t, DmaBufferInfo> by_inode_;
  std::map<pid_t, std::string> comms_;
};

uint64_t Kb(uint64_t bytes) { return bytes / 1024; }

}  // namespace

size_t DmaBufferInfo::nr_procs() const {
  std::set<pid_t> pids;
  for (const auto& [pid, n] : fd_refs) pids.insert(pid);
  for (const auto& [pid, n] : map_refs) pids.insert(pid);
  return pids.size();
}

DmaBufSnapshot ReadProcfsDmaBufs(pid_t only, const std::string& procfs) {
  Collector c;
  DIR* proc = ::opendir(procfs.c_str());
  if (proc == nullptr) return {};
  while (dirent* e = ::readdir(proc)) {
    if (!IsNumber(e->d_name)) continue;
    const pid_t pid = static_cast<pid_t>(std::atoi(e->d_name));
    if (only != 0 && pid != only) continue;
    const std::string dir = procfs + "/" + e->d_name;
    c.ScanFds(pid, dir);
    c.ScanMaps(pid, dir);
  }
  ::closedir(proc);
  return c.Finish(procfs);
}

std::string FormatDumpPerProcess(const DmaBufSnapshot& snap, uint64_t exported) {
  if (snap.buffers.empty()) return kNotFound;
  std::string out;
  char line[512];
  uint64_t userspace_rss = 0, userspace_pss = 0;
  for (const auto& [pid, comm] : snap.comms) {
    std::snprintf(line, sizeof(line), "%16s:%-5d\n", comm.c_str(), pid);
    out += line;
    std::snprintf(line, sizeof(line), "%22s %16s %16s %16s %16s\n", "Name", "Rss", "Pss",
                  "nr_procs", "Inode");
    out += line;
    uint64_t rss = 0, pss = 0;
    for (const DmaBufferInfo& b : snap.buffers) {
      if (b.fd_refs.count(pid) == 0 && b.map_refs.count(pid) == 0) continue;
      const uint64_t share = b.size / std::max<size_t>(1, b.nr_procs());
      rss += b.size;
      pss += share;
      std::snprintf(line, sizeof(line), "%22s %13" PRIu64 " kB %13" PRIu64 " kB %16zu %16" PRIu64
                    "\n", b.name.empty() ? "<unknown>" : b.name.c_str(), Kb(b.size), Kb(share),
                    b.nr_procs(), b.inode);
      out += line;
    }
    std::snprintf(line, sizeof(line), "%22s %13" PRIu64 " kB %13" PRIu64 " kB %16s\n",
                  "PROCESS TOTAL", Kb(rss), Kb(pss), "");
    out += line;
    out += "----------------------\n";
    userspace_pss += pss;
  }
  for (const DmaBufferInfo& b : snap.buffers) userspace_rss += b.size;
  const uint64_t total = std::max(exported, userspace_rss);
  std::snprintf(line, sizeof(line), "dmabuf total: %" PRIu64 " kB kernel_rss: %" PRIu64
                " kB userspace_rss: %" PRIu64 " kB userspace_pss: %" PRIu64 " kB\n",
                Kb(total), Kb(total - userspace_rss), Kb(userspace_rss), Kb(userspace_pss));
  out += line;
  return out;
}

std::string FormatDumpTable(const DmaBufSnapshot& snap) {
  if (snap.buffers.empty()) return kNotFound;
  std::string out;
  char cell[128];
  out += "    Dmabuf Inode |            Size |   Fd Ref Counts |  Map Ref Counts |";
  for (const auto& [pid, comm] : snap.comms) {
    std::snprintf(cell, sizeof(cell), "%16s:%-5d |", comm.c_str(), pid);
    out += cell;
  }
  out += "\n";
  std::map<pid_t, uint64_t> totals;
  for (const DmaBufferInfo& b : snap.buffers) {
    std::snprintf(cell, sizeof(cell), "%16" PRIu64 " |%13" PRIu64 " kB |%16zu |%16zu |", b.inode,
                  Kb(b.size), b.fd_refs.size(), b.map_refs.size());
    out += cell;
    for (const auto& [pid, comm] : snap.comms) {
      const auto fd = b.fd_refs.find(pid);
      const auto map = b.map_refs.find(pid);
      if (fd == b.fd_refs.end() && map == b.map_refs.end()) {
        std::snprintf(cell, sizeof(cell), "%22s |", "--");
      } else {
        std::snprintf(cell, sizeof(cell), "%9d(%6d) refs |", fd == b.fd_refs.end() ? 0 : fd->second,
                      map == b.map_refs.end() ? 0 : map->second);
        totals[pid] += b.size;  // a buffer counts fully in every process holding it
      }
      out += cell;
    }
    out += "\n";
  }
  out += "------------------------------------\n";
  std::snprintf(cell, sizeof(cell), "%-16s  %13s    %16s  %16s  ", "TOTALS", "", "", "");
  out += cell;
  for (const auto& [pid, comm] : snap.comms) {
    std::snprintf(cell, sizeof(cell), "%19" PRIu64 " kB |", Kb(totals[pid]));
    out += cell;
  }
  out += "\n";
  return out;
}

std::string DumpJson(const DmaBufSnapshot& snap) {
  auto refs = [](const std::map<pid_t, int>& m) {
    std::string out = "{";
    for (const auto& [pid, n] : m) {
      out += (out.size() > 1 ? ", " : "") + std::string("\"") + std::to_string(pid) +
             "\": " + std::to_string(n);
    }
    return out + "}";
  };
  std::string out = "{\"buffers\": [";
  bool first = true;
  for (const DmaBufferInfo& b : snap.buffers) {
    out += first ? "" : ", ";
    first = false;
    out += "{\"inode\": " + std::to_string(b.inode) + ", \"size\": " + std::to_string(b.size) +
           ", \"exporter\": " + JsonString(b.exporter) + ", \"name\": " + JsonString(b.name) +
           ", \"fd_refs\": " + refs(b.fd_refs) + ", \"map_refs\": " + refs(b.map_refs) + "}";
  }
  out += "], \"processes\": [";
  first = true;
  for (const auto& [pid, comm] : snap.comms) {
    out += first ? "" : ", ";
    first = false;
    out += "{\"pid\": " + std::to_string(pid) + ", \"comm\": " + JsonString(comm) + "}";
  }
  return out + "]}\n";
}

}  // namespace dmaheap
