#include "ipc/paths.h"

#include <dirent.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "base/check.h"

namespace dmaheap {

Result<std::string> HeapDirPath() {
  if (const char* dir = std::getenv("DMAHEAP_DIR"); dir != nullptr && *dir != '\0') return std::string(dir);
  if (::geteuid() == 0) return std::string("/run/dma_heap");
  if (const char* xdg = std::getenv("XDG_RUNTIME_DIR"); xdg != nullptr && *xdg != '\0')
    return std::string(xdg) + "/dma_heap";
  return Errno(ENOENT);
}

std::string ControlSocketPathFor(const std::string& dir) {
  if (const char* ctl = std::getenv("DMAHEAP_CONTROL"); ctl != nullptr && *ctl != '\0')
    return std::string(ctl);
  return dir + ".ctl";
}

std::string DeviceSocketPathFor(const std::string& dir) {
  if (const char* dev = std::getenv("DMAHEAP_DEVICES"); dev != nullptr && *dev != '\0')
    return std::string(dev);
  return dir + ".dev";
}

Result<std::string> ControlSocketPath() { return ControlSocketPathFor(TRY(HeapDirPath())); }
Result<std::string> DeviceSocketPath() { return DeviceSocketPathFor(TRY(HeapDirPath())); }

bool HoldsHeapSocket(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return false;
  bool found = false;
  while (const dirent* e = ::readdir(d)) {
    if (e->d_type == DT_SOCK) {
      found = true;
      break;
    }
  }
  ::closedir(d);
  return found;
}

Result<std::string> FindDaemonDir(std::string* tried, bool* from_env) {
  std::vector<std::string> places;
  const char* env = std::getenv("DMAHEAP_DIR");
  const bool given = env != nullptr && *env != '\0';
  if (from_env != nullptr) *from_env = given;
  if (given) {
    places.emplace_back(env);
  } else {
    if (::geteuid() != 0) {
      if (const char* xdg = std::getenv("XDG_RUNTIME_DIR"); xdg != nullptr && *xdg != '\0')
        places.push_back(std::string(xdg) + "/dma_heap");
    }
    const char* system_dir = std::getenv("DMAHEAP_SYSTEM_DIR");
    places.emplace_back(system_dir != nullptr && *system_dir != '\0' ? system_dir
                                                                     : "/run/dma_heap");
  }
  if (tried != nullptr) tried->clear();
  for (const std::string& dir : places) {
    if (tried != nullptr) *tried += (tried->empty() ? "" : ", ") + dir;
    if (HoldsHeapSocket(dir)) return dir;
  }
  return Errno(ENOENT);
}

Result<std::string> HeapSocketPath(std::string_view dir, std::string_view heap) {
  std::string path(dir);
  path += '/';
  path += heap;
  if (path.size() > kMaxSocketPath) {
    std::fprintf(stderr,
                 "dmaheap: socket path %s is %zu bytes, longer than a Unix socket address "
                 "allows (%zu); use a shorter DMAHEAP_DIR\n",
                 path.c_str(), path.size(), kMaxSocketPath);
    return Errno(ENAMETOOLONG);
  }
  return path;
}

}  // namespace dmaheap

namespace dmaheap {

std::string HeapOfPeerPath(std::string_view dir, std::string_view peer) {
  const size_t slash = peer.rfind('/');
  if (slash == std::string_view::npos || dir.empty()) return {};
  std::string_view parent = peer.substr(0, slash);
  std::string_view name = peer.substr(slash + 1);
  if (name.empty() || name == "." || name == "..") return {};
  if (parent == dir) return std::string(name);
  // "<dir>.tmp.XXXXXX": mkdtemp's six characters.
  if (parent.size() == dir.size() + 11 && parent.substr(0, dir.size()) == dir &&
      parent.substr(dir.size(), 5) == ".tmp.") {
    return std::string(name);
  }
  return {};
}

}  // namespace dmaheap
