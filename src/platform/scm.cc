#include "platform/scm.h"

#include <cstring>

#include "platform/sys.h"

namespace dmaheap::sys {

Result<size_t> SendWithFds(int sock, std::span<const iovec> iov, std::span<const int> fds,
                           int flags) {
  if (fds.size() > kMaxFdsPerMessage) return Errno(EINVAL);
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int) * kMaxFdsPerMessage)] = {};
  msghdr msg{};
  msg.msg_iov = const_cast<iovec*>(iov.data());
  msg.msg_iovlen = iov.size();
  if (!fds.empty()) {
    msg.msg_control = control;
    msg.msg_controllen = CMSG_SPACE(sizeof(int) * fds.size());
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * fds.size());
    std::memcpy(CMSG_DATA(c), fds.data(), sizeof(int) * fds.size());
  }
  ssize_t n = RetryEintr([&] { return ::sendmsg(sock, &msg, flags); });
  if (n < 0) return Errno(errno);
  return static_cast<size_t>(n);
}

Result<ReceivedMessage> RecvWithFds(int sock, std::span<iovec> iov, int flags) {
  // Room for the credentials and kMaxFdsPerMessage fds. Without credentials (no SO_PASSCRED)
  // that room holds more fds: those beyond the limit are closed below and the message marked cut,
  // so the limit is the same on every socket.
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(ucred)) +
                                CMSG_SPACE(sizeof(int) * kMaxFdsPerMessage)] = {};
  msghdr msg{};
  msg.msg_iov = iov.data();
  msg.msg_iovlen = iov.size();
  msg.msg_control = control;
  msg.msg_controllen = sizeof(control);
  ssize_t n = RetryEintr([&] { return ::recvmsg(sock, &msg, flags | MSG_CMSG_CLOEXEC); });
  if (n < 0) return Errno(errno);
  ReceivedMessage out;
  out.len = static_cast<size_t>(n);
  out.msg_flags = msg.msg_flags;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET) continue;
    if (c->cmsg_type == SCM_RIGHTS) {
      const size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
      for (size_t i = 0; i < count; ++i) {
        int fd;
        std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
        out.fds.emplace_back(fd);
      }
      if (out.fds.size() > kMaxFdsPerMessage) {
        out.fds.resize(kMaxFdsPerMessage);  // the extra ones close here
        out.msg_flags |= MSG_CTRUNC;
      }
    } else if (c->cmsg_type == SCM_CREDENTIALS) {
      std::memcpy(&out.cred, CMSG_DATA(c), sizeof(out.cred));
      out.has_cred = true;
    }
  }
  return out;
}

}  // namespace dmaheap::sys
