// The client half of the ioctls the daemon serves, shared by the client library, the preload
// shim and the seccomp supervisor of `dmaheap run`:
// - a heap ioctl: send the argument's in_size bytes, receive the status, the out_size bytes and
//   the new buffer fd, and commit an O_RDWR buffer's memory here — so it is charged to this
//   process, and ENOMEM comes now rather than as a later SIGBUS;
// - a daemon-served buffer's dma-buf ioctls (DaemonBuffer), whose rules are the dma-buf core's
//   (dmabuf/dma_buf_ioctl.h).
#ifndef DMAHEAP_SRC_CLIENT_HEAP_CALL_H
#define DMAHEAP_SRC_CLIENT_HEAP_CALL_H

#include <cstdint>
#include <vector>

#include <string>
#include <string_view>

#include "dmabuf/dma_buf_ioctl.h"
#include "dmaheap/result.h"
#include "dmaheap/unique_fd.h"
#include "ipc/protocol.h"
#include "platform/sys.h"

namespace dmaheap {

struct HeapCallResult {
  int status = 0;            // 0 or a positive errno, as the kernel's ioctl would return
  std::vector<uint8_t> out;  // out_size bytes to copy back; the fd field still to be patched
  UniqueFd fd;               // the new buffer on success (close-on-exec)
  uint32_t fd_flags = 0;     // what the caller asked for (O_CLOEXEC decides the installed fd)
};

// `in` holds in_size bytes of the argument of `cmd` (for Op::kAllocNamed: the ALLOC argument
// followed by the name). ENODEV when the daemon is gone.
Result<HeapCallResult> HeapIoctlCall(int sock, unsigned int cmd, const uint8_t* in,
                                     size_t in_size, sys::ShmemThp thp,
                                     Op op = Op::kHeapIoctl);

// Writes `fd_number` into the argument's fd field when the caller gets it back (out_size ≥ 12).
void PatchAllocFd(std::vector<uint8_t>& out, int fd_number);

// DMA_BUF_SET_NAME on `buffer_fd` (an fd of this process) through the daemon serving
// `heap_dir`: the fd and the name go to the heap socket of the buffer's heap (Op::kSetName).
// ENOTTY for an fd that is no dmaheap buffer; ENODEV when no daemon answers; the daemon's errno.
Result<void> SetNameThroughDaemon(const std::string& heap_dir, int buffer_fd,
                                  std::string_view name);

// Op::kHeapInfo to heap `heap` of the daemon serving `heap_dir`: the heap's properties.
// Errors: connect's (ENOENT: no such heap), ENODEV when the daemon broke the connection,
// EOPNOTSUPP from a daemon that predates the request, EBADMSG for a reply of the wrong size.
Result<HeapInfo> QueryHeapInfo(const std::string& heap_dir, std::string_view heap);

// DMA_BUF_IOCTL_SYNC's CPU access for a daemon buffer: sent to the daemon serving `heap_dir`
// when a device has the buffer mapped (the sticky bit, device_wire.h); else nothing to do.
Result<void> CpuAccessThroughDaemon(const std::string& heap_dir, int buffer_fd, DmaDirection dir,
                                    bool end);

// A buffer the daemon exported, as a client process (or the supervisor of one) serves its
// dma-buf ioctls: CPU access goes to the daemon only while a device has the buffer mapped (the
// exporter then syncs its attachments; the daemon marks such buffers, see device_wire.h), and
// is a local no-op otherwise; the name goes to the daemon. Subclasses say where new fds go.
class DaemonBuffer : public DmaBufIoctlTarget {
 public:
  // `buffer_fd` refers to the buffer in this process, for the daemon to identify it.
  DaemonBuffer(std::string heap_dir, int buffer_fd)
      : heap_dir_(std::move(heap_dir)), buffer_fd_(buffer_fd) {}
  Result<void> CpuAccess(DmaDirection dir, bool end) override;
  Result<void> SetName(std::string name) override;

 private:
  const std::string heap_dir_;
  const int buffer_fd_;
};


}  // namespace dmaheap

#endif  // DMAHEAP_SRC_CLIENT_HEAP_CALL_H
