// Passing buffer fds between processes over a Unix socket (SCM_RIGHTS), with a small payload.
#ifndef DMAHEAP_FD_PASSING_H
#define DMAHEAP_FD_PASSING_H

#include <cstddef>
#include <cstdint>

#include "dmaheap/api.h"
#include "dmaheap/result.h"
#include "dmaheap/unique_fd.h"

namespace dmaheap {

// Sends `len` bytes (at least 1) with `fd` attached. EPIPE when the peer is gone.
DMAHEAP_API Result<void> SendFd(int sock, int fd, const void* data, size_t len);

// Receives one message of up to `len` bytes and the fd attached to it (received close-on-exec).
// The fd is empty when the message carried none; ECONNRESET when the peer closed.
struct ReceivedFd {
  UniqueFd fd;
  size_t len;
};
DMAHEAP_API Result<ReceivedFd> RecvFd(int sock, void* data, size_t len);

}  // namespace dmaheap

#endif  // DMAHEAP_FD_PASSING_H
