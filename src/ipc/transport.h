// The client side of the daemon protocol (ipc/protocol.h): connect to a heap or control
// socket and make one request/reply round trip. Used by the preload shim, the library's daemon
// backend and the tool.
#ifndef DMAHEAP_SRC_CLIENT_TRANSPORT_H
#define DMAHEAP_SRC_CLIENT_TRANSPORT_H

#include <cstdint>
#include <string>
#include <vector>

#include "dmaheap/result.h"
#include "dmaheap/unique_fd.h"
#include "ipc/protocol.h"

namespace dmaheap {

// A SOCK_SEQPACKET connection to `path` with SO_PASSCRED set, so every message carries this
// process's credentials. `cloexec` as for the fd a program asked for. Errors: connect's errno
// (ENOENT: no such heap or no daemon; ECONNREFUSED: socket left by a dead daemon; EACCES).
Result<UniqueFd> ConnectSocket(const std::string& path, bool cloexec = true);

struct Reply {
  int status = 0;  // 0 or a positive errno from the daemon
  std::vector<uint8_t> data;
  UniqueFd fd;  // received close-on-exec
};

// One round trip. ENODEV when the daemon is gone (the connection broke); EBADMSG for a reply
// that does not parse.
Result<Reply> Call(int sock, Op op, uint64_t cmd, const void* payload, size_t len,
                   int send_fd = -1);

}  // namespace dmaheap

#endif  // DMAHEAP_SRC_CLIENT_TRANSPORT_H
