// Unix-socket messages with fds (SCM_RIGHTS) and credentials (SCM_CREDENTIALS): the one place
// that builds and parses control messages, for the daemon, the transport and fd passing.
#ifndef DMAHEAP_SRC_PLATFORM_SCM_H
#define DMAHEAP_SRC_PLATFORM_SCM_H

#include <sys/socket.h>
#include <sys/uio.h>

#include <span>
#include <vector>

#include "dmaheap/result.h"
#include "dmaheap/unique_fd.h"

namespace dmaheap::sys {

inline constexpr size_t kMaxFdsPerMessage = 8;

// sendmsg of `iov` with `fds` attached (at most kMaxFdsPerMessage); the bytes sent.
Result<size_t> SendWithFds(int sock, std::span<const iovec> iov, std::span<const int> fds,
                           int flags = MSG_NOSIGNAL);

struct ReceivedMessage {
  size_t len = 0;
  std::vector<UniqueFd> fds;  // every fd that arrived, owned (received close-on-exec)
  bool has_cred = false;
  ucred cred{};
  int msg_flags = 0;  // MSG_TRUNC / MSG_CTRUNC when something did not fit
};

// recvmsg into `iov` with room for credentials and kMaxFdsPerMessage fds. More fds than that are
// closed on arrival and MSG_CTRUNC is set, whether or not the socket passes credentials. A
// closed peer gives len 0.
Result<ReceivedMessage> RecvWithFds(int sock, std::span<iovec> iov, int flags = 0);

}  // namespace dmaheap::sys

#endif  // DMAHEAP_SRC_PLATFORM_SCM_H
