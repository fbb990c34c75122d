#include "platform/fd_info.h"

#include <unistd.h>

#include <cstdio>
#include <string_view>

namespace dmaheap::sys {

std::string FdLinkTarget(int fd) {
  char path[32], target[512];
  std::snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
  ssize_t n = ::readlink(path, target, sizeof(target) - 1);
  if (n <= 0) return {};
  return std::string(target, static_cast<size_t>(n));
}

std::string HeapOfLinkTarget(std::string_view target) {
  constexpr std::string_view kPrefix(kBufferLinkPrefix);
  if (target.substr(0, kPrefix.size()) != kPrefix) return {};
  target.remove_prefix(kPrefix.size());
  target = target.substr(0, target.find(' '));  // " (deleted)"
  const size_t colon = target.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return {};
  return std::string(target.substr(0, colon));
}

bool BufferHeapOfFd(int fd, std::string* heap) {
  std::string name = HeapOfLinkTarget(FdLinkTarget(fd));
  if (name.empty()) return false;
  if (heap != nullptr) *heap = std::move(name);
  return true;
}

bool IsEventFd(int fd) { return FdLinkTarget(fd) == "anon_inode:[eventfd]"; }

}  // namespace dmaheap::sys
