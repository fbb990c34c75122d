// DmaHeapIoctl: the kernel's dma_heap_ioctl() byte rules, in one adapter at the edge, used by
// every path (embedded API, daemon, and through the daemon the shim and the seccomp supervisor).
// It decodes the argument into an AllocRequest and calls the core (DmaHeapAllocate).
//
// Order (kernel-facts.md §2.4–2.5): _IOC_NR != 0 → EINVAL (the type byte is not checked);
// in_size = _IOC_SIZE if both the caller's and ALLOC's numbers have IOC_IN, else 0; out_size
// likewise with IOC_OUT; copy in in_size bytes (EFAULT), zero-extend to 24, ignore the rest;
// fd != 0 → EINVAL; then the core's checks (fd_flags, heap_flags, PAGE_ALIGN(len) == 0, all
// EINVAL, in that order); allocate; install the fd; copy back out_size bytes — also when the
// allocation failed (a failed copy-back turns the result into EFAULT).
#ifndef DMAHEAP_SRC_HEAP_HEAP_IOCTL_H
#define DMAHEAP_SRC_HEAP_HEAP_IOCTL_H

#include <cstddef>
#include <cstdint>

#include "heap/alloc.h"
#include "platform/ioctl_arg.h"

namespace dmaheap {

// Runs one ioctl on `request.heap`. `request` carries what the bytes do not: the heap, the
// owner and (daemon) a name; its len and flags are replaced by the argument's. The new fd goes
// to `installer`; its number is what the caller's argument gets back. Returns 0 or a positive
// errno (as the kernel's -errno).
int DmaHeapIoctl(unsigned int cmd, const AllocRequest& request, IoctlArg& arg,
                 FdInstaller& installer);

// The size-compat split of a command, for paths that carry the argument elsewhere (the shim
// sends in_size bytes and expects out_size back).
struct HeapIoctlSizes {
  bool valid;       // _IOC_NR == 0
  size_t in_size;
  size_t out_size;
};
// in_size and out_size keep _IOC_SIZE only when both the caller's number and ALLOC's
// (0xC0184800: IOC_IN | IOC_OUT) carry the direction bit.
constexpr HeapIoctlSizes DmaHeapIoctlSizes(unsigned int cmd) {
  const size_t size = (cmd >> 16) & 0x3FFF;        // _IOC_SIZE
  const bool in = (cmd & (1u << 30)) != 0;         // _IOC_WRITE: user → kernel
  const bool out = (cmd & (2u << 30)) != 0;        // _IOC_READ: kernel → user
  return HeapIoctlSizes{(cmd & 0xFF) == 0, in ? size : 0, out ? size : 0};
}

}  // namespace dmaheap

#endif  // DMAHEAP_SRC_HEAP_HEAP_IOCTL_H
