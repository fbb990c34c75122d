#include "ipc/transport.h"

#include <sys/socket.h>
#include <sys/un.h>

#include <cstring>

#include "platform/scm.h"
#include "platform/sys.h"
#include "ipc/paths.h"

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
  const iovec iov[2] = {{&h, sizeof(h)}, {const_cast<void*>(payload), len}};
  const int fds[1] = {send_fd};
  Result<size_t> sent = sys::SendWithFds(sock, std::span<const iovec>(iov, len > 0 ? 2 : 1),
                                         std::span<const int>(fds, send_fd >= 0 ? 1 : 0));
  if (!sent.ok()) {
    const int err = sent.error();
    return Errno(err == EPIPE || err == ECONNRESET || err == ENOTCONN ? ENODEV : err);
  }

  Reply reply;
  ReplyHeader rh{};
  reply.data.resize(kMaxPayload + 1);
  iovec riov[2] = {{&rh, sizeof(rh)}, {reply.data.data(), reply.data.size()}};
  // SO_PASSCRED on this socket makes the kernel attach the daemon's credentials to every
  // message we receive; RecvWithFds leaves room for them.
  Result<sys::ReceivedMessage> msg = sys::RecvWithFds(sock, riov);
  if (!msg.ok()) return Errno(msg.error() == ECONNRESET ? ENODEV : msg.error());
  if (msg->len == 0) return Errno(ENODEV);
  if (!msg->fds.empty()) reply.fd = std::move(msg->fds.front());  // extra fds close here
  if ((msg->msg_flags & (MSG_CTRUNC | MSG_TRUNC)) != 0 || msg->len < sizeof(rh) ||
      rh.magic != kProtocolMagic || rh.status < 0 || rh.len > kMaxTextReply) {
    return Errno(EBADMSG);
  }
  size_t got = msg->len - sizeof(rh);
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
