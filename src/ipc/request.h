// The daemon's side of the wire protocol (protocol.h): one received message decoded into a
// request it can trust, and replies sent back. Decoding is a pure function of the bytes, the
// receive flags and the fds that came along, so every rule has a unit test (and a fuzz target
// can drive it).
//
// Rules, in this order, each answered with the errno named and the connection kept:
//   the message was cut (MSG_TRUNC) or is longer than a header + kMaxPayload → EMSGSIZE;
//   control data was cut (MSG_CTRUNC: more fds than kMaxFdsPerMessage)   → EINVAL;
//   shorter than a header, a wrong magic, non-zero reserved bits, or a header length that is
//   not the payload's                                                     → EBADMSG.
// Then per socket kind (DecodeHeapRequest, DecodeControlRequest):
//   control: a sender that is not root → EPERM; any fd → EINVAL; an unknown op → EOPNOTSUPP;
//   heap: kHeapIoctl / kAllocNamed with an fd → EINVAL; kAllocNamed shorter than the ALLOC
//   argument, or with a name of DMA_BUF_NAME_LEN bytes or more or a NUL in it → EINVAL;
//   kSetName without exactly one fd → EBADF, a name that long or with a NUL → EINVAL;
//   kSync without exactly one fd → EBADF, flags the kernel refuses or a payload → EINVAL;
//   kHeapInfo with an fd or a payload → EINVAL;
//   an unknown op → EOPNOTSUPP.
// Fds that arrived with a refused request are closed when the request goes.
#ifndef DMAHEAP_SRC_IPC_REQUEST_H
#define DMAHEAP_SRC_IPC_REQUEST_H

#include <sys/socket.h>

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "dmaheap/result.h"
#include "dmaheap/unique_fd.h"
#include "heap/dma_heap.h"
#include "ipc/protocol.h"

namespace dmaheap {

// One message as received: its bytes (as many as fit the buffer), recvmsg's flags, the
// sender's credentials and the fds that came with it.
struct RawRequest {
  std::span<const uint8_t> bytes;
  int msg_flags = 0;
  ucred cred{};
  std::vector<UniqueFd> fds;
};

// A request that passed the framing rules. `payload` points into the RawRequest's bytes.
struct Request {
  Op op{};
  uint64_t cmd = 0;
  std::span<const uint8_t> payload;
  ucred cred{};
  std::vector<UniqueFd> fds;
};

// The framing rules above. Takes the raw request's fds.
Result<Request> DecodeRequest(RawRequest raw);

// What a heap socket is asked, decoded.
struct HeapRequest {
  enum class Kind { kIoctl, kSetName, kInfo, kSync } kind = Kind::kIoctl;
  unsigned int cmd = 0;          // kIoctl: the ioctl number (ALLOC for kAllocNamed)
  std::span<const uint8_t> arg;  // kIoctl: the argument's in_size bytes
  std::string_view name;         // kAllocNamed / kSetName: the name, without NUL
  int buffer_fd = -1;            // kSetName / kSync: the buffer (owned by the Request)
  uint64_t sync_flags = 0;       // kSync: valid DMA_BUF_SYNC_* flags
};
Result<HeapRequest> DecodeHeapRequest(const Request& request);

// The answer to kHeapInfo: `properties` as the wire carries them.
HeapInfo EncodeHeapInfo(const HeapProperties& properties);

// The control socket's rules: only root, no fds, a known op.
Result<void> CheckControlRequest(const Request& request);

// Sends one reply: status, `len` bytes of data (a text longer than one message follows in
// plain chunks, waiting for a slow reader up to a second each), and `pass_fd` when >= 0.
// false when the client is gone.
bool SendReply(int sock, int status, const void* data, size_t len, int pass_fd = -1);

}  // namespace dmaheap

#endif  // DMAHEAP_SRC_IPC_REQUEST_H
