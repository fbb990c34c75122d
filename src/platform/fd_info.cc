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

bool BufferHeapOfFd(int fd, std::string* heap) {
  const std::string target = FdLinkTarget(fd);
  std::string_view rest(target);
  constexpr std::string_view kPrefix(kBufferLinkPrefix);
  if (rest.substr(0, kPrefix.size()) != kPrefix) return false;
  rest.remove_prefix(kPrefix.size());
  const size_t colon = rest.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return false;
  if (heap != nullptr) *heap = std::string(rest.substr(0, colon));
  return true;
}

bool IsEventFd(int fd) { return FdLinkTarget(fd) == "anon_inode:[eventfd]"; }

}  // namespace dmaheap::sys
