// DmaHeapIoctl: the one implementation of the kernel's dma_heap_ioctl() rules, used by every
// path (embedded API, daemon, shim, seccomp supervisor).
//
// Order (kernel-facts.md §2.4–2.5): _IOC_NR != 0 → EINVAL (the type byte is not checked);
// in_size = _IOC_SIZE if both the caller's and ALLOC's numbers have IOC_IN, else 0; out_size
// likewise with IOC_OUT; copy in in_size bytes (EFAULT), zero-extend to 24, ignore the rest;
// fd != 0, fd_flags ⊄ O_CLOEXEC|O_ACCMODE, heap_flags != 0, PAGE_ALIGN(len) == 0 → EINVAL in
// that order; allocate; install the fd; copy back out_size bytes — also when the allocation
// failed (a failed copy-back turns the result into EFAULT).
#ifndef DMAHEAP_SRC_HEAP_HEAP_IOCTL_H
#define DMAHEAP_SRC_HEAP_HEAP_IOCTL_H

#include <cstddef>
#include <cstdint>

#include "dmaheap/result.h"
#include "dmaheap/unique_fd.h"

namespace dmaheap {

class DmaHeap;
class BufferTable;

// Where the caller's argument lives: user memory in this process, or bytes carried over a
// socket. Implementations return EFAULT for memory they cannot reach.
class IoctlUserMemory {
 public:
  virtual ~IoctlUserMemory() = default;
  virtual Result<void> CopyIn(void* dst, size_t len) = 0;
  virtual Result<void> CopyOut(const void* src, size_t len) = 0;
};

// Where a new buffer fd goes: installed in this process (the number is returned), or queued for
// SCM_RIGHTS to a client (a placeholder number is returned, which the client replaces with its
// own before copying back).
class FdInstaller {
 public:
  virtual ~FdInstaller() = default;
  virtual Result<uint32_t> Install(UniqueFd fd, uint32_t fd_flags) = 0;
};

// The caller's memory is this process's: copies go through sys::CopyFromUser/CopyToUser, so a
// bad pointer gives EFAULT.
class SelfUserMemory final : public IoctlUserMemory {
 public:
  explicit SelfUserMemory(void* arg) : arg_(arg) {}
  Result<void> CopyIn(void* dst, size_t len) override;
  Result<void> CopyOut(const void* src, size_t len) override;

 private:
  void* arg_;
};

// Installs the fd in this process's fd table.
class SelfFdInstaller final : public FdInstaller {
 public:
  Result<uint32_t> Install(UniqueFd fd, uint32_t fd_flags) override;
};

// Runs one ioctl on a heap. Returns 0 or a positive errno (as the kernel's -errno).
int DmaHeapIoctl(DmaHeap& heap, unsigned int cmd, IoctlUserMemory& user, FdInstaller& installer);

// The size-compat split of a command, exposed for the socket protocol (which sends in_size
// bytes and expects out_size back).
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
