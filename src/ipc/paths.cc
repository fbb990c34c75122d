#include "ipc/paths.h"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>

#include "base/check.h"

namespace dmaheap {

Result<std::string> HeapDirPath() {
  if (const char* dir = std::getenv("DMAHEAP_DIR"); dir != nullptr && *dir != '\0') return std::string(dir);
  if (::geteuid() == 0) return std::string("/run/dma_heap");
  if (const char* xdg = std::getenv("XDG_RUNTIME_DIR"); xdg != nullptr && *xdg != '\0')
    return std::string(xdg) + "/dma_heap";
  return Errno(ENOENT);
}

Result<std::string> ControlSocketPath() {
  if (const char* ctl = std::getenv("DMAHEAP_CONTROL"); ctl != nullptr && *ctl != '\0')
    return std::string(ctl);
  std::string dir = TRY(HeapDirPath());
  return dir + ".ctl";
}

Result<std::string> DeviceSocketPath() {
  if (const char* dev = std::getenv("DMAHEAP_DEVICES"); dev != nullptr && *dev != '\0')
    return std::string(dev);
  std::string dir = TRY(HeapDirPath());
  return dir + ".dev";
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
