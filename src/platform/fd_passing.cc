#include "dmaheap/fd_passing.h"

#include <cerrno>

#include "platform/scm.h"

namespace dmaheap {

Result<void> SendFd(int sock, int fd, const void* data, size_t len) {
  if (len == 0) return Errno(EINVAL);
  iovec iov{const_cast<void*>(data), len};
  const int fds[1] = {fd};
  size_t sent = DMAHEAP_TRY(sys::SendWithFds(sock, {&iov, 1}, std::span<const int>(fds, fd >= 0 ? 1 : 0)));
  if (sent != len) return Errno(EMSGSIZE);
  return {};
}

Result<ReceivedFd> RecvFd(int sock, void* data, size_t len) {
  iovec iov{data, len};
  Result<sys::ReceivedMessage> msg = sys::RecvWithFds(sock, {&iov, 1});
  if (!msg.ok()) return Errno(msg.error());
  if (msg->len == 0) return Errno(ECONNRESET);
  // Keep the first fd; any extra one a sender attached is closed with the message.
  ReceivedFd out{UniqueFd(), msg->len};
  if (!msg->fds.empty()) out.fd = std::move(msg->fds.front());
  return out;
}

}  // namespace dmaheap
