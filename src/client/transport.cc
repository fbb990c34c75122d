#include "client/transport.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <cstring>

#include "platform/sys.h"
#include "service/paths.h"

namespace dmaheap {

Result<UniqueFd> ConnectSocket(const std::string& path, bool cloexec) {
  if (path.size() > kMaxSocketPath) return Errno(ENAMETOOLONG);
  UniqueFd fd(::socket(AF_UNIX, SOCK_SEQPACKET | (cloexec ? SOCK_CLOEXEC : 0), 0));
  if (!fd) return Errno(errno);
  int one = 1;
  ::setsockopt(fd.get(), SOL_SOCKET, SO_PASSCRED, &one, sizeof(one));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  if (sys::RetryEintr([&] {
        return ::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
      }) != 0) {
    return Errno(errno);
  }
  return fd;
}

Result<Reply> Call(int sock, Op op, uint64_t cmd, const void* payload, size_t len,
                   int send_fd) {
  if (len > kMaxPayload) return Errno(EINVAL);
  RequestHeader h{kProtocolMagic, static_cast<uint32_t>(op), cmd, static_cast<uint32_t>(len), 0};
  iovec iov[2] = {{&h, sizeof(h)}, {const_cast<void*>(payload), len}};
  alignas(cmsghdr) char control[CMSG_SPACE(sizeof(int))] = {};
  msghdr msg{};
  msg.msg_iov = iov;
  msg.msg_iovlen = len > 0 ? 2 : 1;
  if (send_fd >= 0) {
    msg.msg_control = control;
    msg.msg_controllen = sizeof(control);
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(c), &send_fd, sizeof(int));
  }
  if (sys::RetryEintr([&] { return ::sendmsg(sock, &msg, MSG_NOSIGNAL); }) < 0) {
    return Errno(errno == EPIPE || errno == ECONNRESET || errno == ENOTCONN ? ENODEV : errno);
  }

  Reply reply;
  ReplyHeader rh{};
  reply.data.resize(kMaxPayload + 1);
  iovec riov[2] = {{&rh, sizeof(rh)}, {reply.data.data(), reply.data.size()}};
  // Room for the daemon's credentials too: SO_PASSCRED on this socket makes the kernel attach
  // them to every message we receive.
  alignas(cmsghdr) char rcontrol[CMSG_SPACE(sizeof(ucred)) + CMSG_SPACE(sizeof(int) * 4)] = {};
  msghdr rmsg{};
  rmsg.msg_iov = riov;
  rmsg.msg_iovlen = 2;
  rmsg.msg_control = rcontrol;
  rmsg.msg_controllen = sizeof(rcontrol);
  ssize_t n = sys::RetryEintr([&] { return ::recvmsg(sock, &rmsg, MSG_CMSG_CLOEXEC); });
  if (n < 0 && errno != ECONNRESET) return Errno(errno);
  if (n <= 0) return Errno(ENODEV);
  for (cmsghdr* c = CMSG_FIRSTHDR(&rmsg); c != nullptr; c = CMSG_NXTHDR(&rmsg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < count; ++i) {
      int fd;
      std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
      if (!reply.fd) {
        reply.fd.reset(fd);
      } else {
        ::close(fd);
      }
    }
  }
  if ((rmsg.msg_flags & (MSG_CTRUNC | MSG_TRUNC)) != 0 || static_cast<size_t>(n) < sizeof(rh) ||
      rh.magic != kProtocolMagic || rh.status < 0 ||
      rh.len > kMaxTextReply) {
    return Errno(EBADMSG);
  }
  size_t got = static_cast<size_t>(n) - sizeof(rh);
  reply.data.resize(rh.len);
  // Long text replies continue in plain chunks.
  while (got < rh.len) {
    ssize_t m = sys::RetryEintr([&] { return ::recv(sock, reply.data.data() + got, rh.len - got, 0); });
    if (m <= 0) return Errno(ENODEV);
    got += static_cast<size_t>(m);
  }
  reply.status = rh.status;
  return reply;
}

}  // namespace dmaheap
