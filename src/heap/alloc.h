// The core's allocation call (drivers/dma-buf/dma-heap.c dma_heap_buffer_alloc): typed, whatever
// edge the request came from. The ioctl bytes of DMA_HEAP_IOCTL_ALLOC exist only in the adapter
// at the edge (heap_ioctl.h), which decodes them into an AllocRequest; the embedded API, the
// daemon and the shim all end up here.
#ifndef DMAHEAP_SRC_HEAP_ALLOC_H
#define DMAHEAP_SRC_HEAP_ALLOC_H

#include <fcntl.h>

#include <cstdint>
#include <string_view>

#include "dmabuf/dma_buf.h"
#include "dmaheap/result.h"
#include "dmaheap/unique_fd.h"

namespace dmaheap {

class DmaHeap;

// A policy over who may allocate how much (the daemon's limits): asked once the request has
// passed the kernel's validation and the queued releases are processed, before the heap
// allocates. Its error (ENOMEM for a limit) is the allocation's, counted as a heap failure.
class AllocAdmission {
 public:
  virtual Result<void> Admit(const DmaHeap& heap, const Owner& owner, uint64_t len) = 0;

 protected:
  ~AllocAdmission() = default;
};

struct AllocRequest {
  DmaHeap* heap = nullptr;                 // required
  uint64_t len = 0;                        // bytes; rounded up to whole pages
  uint32_t fd_flags = O_RDWR | O_CLOEXEC;  // O_ACCMODE | O_CLOEXEC
  uint64_t heap_flags = 0;                 // none are defined: must be 0
  Owner owner;                             // the requesting process's credentials
  std::string_view name;                   // DMA_BUF_SET_NAME at birth; "" for none
  AllocAdmission* admission = nullptr;     // none: every valid request goes to the heap
};

struct Allocation {
  UniqueFd fd;       // the buffer's fd: close-on-exec (the installer applies the request's)
  DmaBufRef buffer;  // the buffer itself, for the caller's bookkeeping
};

// Validates, in the kernel's order — fd_flags ⊄ O_CLOEXEC|O_ACCMODE, heap_flags != 0,
// PAGE_ALIGN(len) == 0, all EINVAL (a name of DMA_BUF_NAME_LEN bytes or more: EINVAL too) —
// processes the releases already queued, asks the admission policy and then the heap, and installs the buffer with the
// request's owner and name. Counts the heap's allocations and failures. Errors: EINVAL; the
// heap's (ENOMEM); EMFILE/ENFILE.
Result<Allocation> DmaHeapAllocate(const AllocRequest& request);

}  // namespace dmaheap

#endif  // DMAHEAP_SRC_HEAP_ALLOC_H
