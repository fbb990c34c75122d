// The client half of one heap ioctl through the daemon, shared by the preload shim and the
// seccomp supervisor of `dmaheap run`: send the argument's in_size bytes, receive the status,
// the out_size bytes and the new buffer fd, and commit an O_RDWR buffer's memory here — so it
// is charged to this process, and ENOMEM comes now rather than as a later SIGBUS.
#ifndef DMAHEAP_SRC_CLIENT_HEAP_CALL_H
#define DMAHEAP_SRC_CLIENT_HEAP_CALL_H

#include <cstdint>
#include <vector>

#include "dmaheap/result.h"
#include "dmaheap/unique_fd.h"
#include "platform/sys.h"
#include "service/protocol.h"

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


}  // namespace dmaheap

#endif  // DMAHEAP_SRC_CLIENT_HEAP_CALL_H
