// The daemon's socket protocol: one SOCK_SEQPACKET message per request and per reply.
//
// Request: RequestHeader + `len` payload bytes; for kHeapIoctl the payload is the in_size bytes
// of the caller's argument (the client copied them in with the kernel's size rules); for
// kSetName the buffer fd rides along (SCM_RIGHTS) and the payload is the name without NUL.
// kHeapInfo has no payload and no fd.
// Reply: ReplyHeader + `len` bytes (the out_size bytes to copy back, a HeapInfo, or text), and
// for a successful ALLOC the new buffer fd (SCM_RIGHTS). The sender's credentials travel with every
// message (SCM_CREDENTIALS: the client sets SO_PASSCRED), so a request is attributed to the
// process that sent it, also after fork.
//
// The daemon trusts nothing: a short message, a wrong magic, an unknown op, a payload longer
// than kMaxPayload or fds nobody asked for get an errno reply (stray fds are closed at once) and
// the connection stays usable.
#ifndef DMAHEAP_SRC_SERVICE_PROTOCOL_H
#define DMAHEAP_SRC_SERVICE_PROTOCOL_H

#include <cstddef>
#include <cstdint>

namespace dmaheap {

inline constexpr uint32_t kProtocolMagic = 0x31686d64;  // "dmh1"

enum class Op : uint32_t {
  kHeapIoctl = 1,  // heap socket: cmd = the ioctl number
  kSetName = 2,    // heap socket: DMA_BUF_SET_NAME on the attached buffer fd
  kAllocNamed = 3,  // heap socket: DMA_HEAP_IOCTL_ALLOC (the 24-byte argument), then SET_NAME
                    // with the bytes after it (< 32), in one round trip; as kHeapIoctl's reply
  kHeapInfo = 4,   // heap socket: the heap's properties (a HeapInfo), e.g. whether it is cached
  kSync = 5,        // heap socket: DMA_BUF_IOCTL_SYNC on the attached buffer fd, cmd = the flags
                    // (sent only for a buffer a device has mapped: see device_wire.h)
  kStats = 16,     // control socket: text stats
  kBarrier = 17,   // control socket: returns once queued releases are processed
  kBufInfo = 18,   // control socket: the bufinfo text
  kInsmod = 19,    // control socket: payload = module path
  kRmmod = 20,     // control socket: payload = module name
  kModprobe = 21,  // control socket: payload = module name
  kLsmod = 22,     // control socket: the /proc/modules text
  kModinfo = 23,   // control socket: payload = module name or path; kmod's modinfo text
  kCma = 24,       // control socket: the CMA areas, debugfs style (CmaDebugfsText)
  kDmesg = 25,     // control socket: the daemon's message ring (service/message_log.h)
  kDevices = 32,   // device socket: the devices and their DMA counters (device_wire.h)
  kAttach = 33,    // device socket: attach + map the attached buffer fd for a device
  kDetach = 34,    // device socket: cmd = an attachment id of this connection
  kAllocFor = 35,  // device socket: constraint-based allocation; the buffer fd comes back
};

struct RequestHeader {
  uint32_t magic;
  uint32_t op;
  uint64_t cmd;
  uint32_t len;
  uint32_t reserved;  // must be 0
};

struct ReplyHeader {
  uint32_t magic;
  int32_t status;  // 0 or a positive errno
  uint32_t len;
  uint32_t has_fd;  // 1 when an fd rides along
};

// The reply to Op::kHeapInfo: the heap's HeapProperties (heap/dma_heap.h) as bits, for clients
// that cannot reach the heap itself. The preload shim's sync sanitizer asks it: buffers of a heap
// whose CPU mappings are uncached (write-combined) need no DMA_BUF_IOCTL_SYNC brackets.
struct HeapInfo {
  uint32_t flags;     // kHeapInfo* bits below; unknown bits are ignored by readers
  uint32_t reserved;  // 0
  uint64_t max_size;  // largest single buffer in bytes; 0 == bounded only by memory
};
inline constexpr uint32_t kHeapInfoCached = 1u << 0;      // CPU mappings are cached
inline constexpr uint32_t kHeapInfoContiguous = 1u << 1;  // one physically contiguous range
inline constexpr uint32_t kHeapInfoZeroed = 1u << 2;      // new buffers read as zero

static_assert(sizeof(RequestHeader) == 24);
static_assert(sizeof(ReplyHeader) == 16);
static_assert(sizeof(HeapInfo) == 16);

// _IOC_SIZE is 14 bits; text replies (stats, bufinfo) may be larger and are capped here.
inline constexpr size_t kMaxPayload = 16383;
inline constexpr size_t kMaxTextReply = 1 << 20;

}  // namespace dmaheap

#endif  // DMAHEAP_SRC_SERVICE_PROTOCOL_H
