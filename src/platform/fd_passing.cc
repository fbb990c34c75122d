#include "dmaheap/fd_passing.h"

#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include "platform/sys.h"

namespace dmaheap {

Result<void> SendFd(int sock, int fd, const void* data, size_t len) {
  if (len == 0) return Errno(EINVAL);
  iovec iov{const_cast<void*>(data), len};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  if (fd >= 0) {
    msg.msg_control = control;
    msg.msg_controllen = sizeof(control);
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(c), &fd, sizeof(int));
  }
  ssize_t n = sys::RetryEintr([&] { return ::sendmsg(sock, &msg, MSG_NOSIGNAL); });
  if (n < 0) return Errno(errno);
  if (static_cast<size_t>(n) != len) return Errno(EMSGSIZE);
  return {};
}

Result<ReceivedFd> RecvFd(int sock, void* data, size_t len) {
  iovec iov{data, len};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * 4)] = {};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof(control);
  ssize_t n = sys::RetryEintr([&] { return ::recvmsg(sock, &msg, MSG_CMSG_CLOEXEC); });
  if (n < 0) return Errno(errno);
  if (n == 0) return Errno(ECONNRESET);
  ReceivedFd out{UniqueFd(), static_cast<size_t>(n)};
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    const size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < count; ++i) {
      int fd;
      std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
      // Keep the first fd; close any extra one a sender attached.
      if (!out.fd) {
        out.fd.reset(fd);
      } else {
        ::close(fd);
      }
    }
  }
  return out;
}

}  // namespace dmaheap
