#include "heap/heap_ioctl.h"

#include <fcntl.h>
#include <linux/ioctl.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <vector>

#include "base/check.h"
#include "dmabuf/buffer_table.h"
#include "dmaheap/uapi/linux/dma-heap.h"
#include "heap/dma_heap.h"
#include "platform/sys.h"

namespace dmaheap {
namespace {

constexpr unsigned int kAllocCmd = DMA_HEAP_IOCTL_ALLOC;
constexpr size_t kDrvSize = sizeof(dma_heap_allocation_data);
static_assert(DmaHeapIoctlSizes(kAllocCmd).in_size == 24 &&
              DmaHeapIoctlSizes(kAllocCmd).out_size == 24);

// dma_heap_buffer_alloc + dma_heap_ioctl_allocate after copy-in.
int Allocate(DmaHeap& heap, dma_heap_allocation_data& data, FdInstaller& installer) {
  if (data.fd != 0) return EINVAL;
  if ((data.fd_flags & ~static_cast<uint32_t>(DMA_HEAP_VALID_FD_FLAGS)) != 0) return EINVAL;
  if ((data.heap_flags & ~DMA_HEAP_VALID_HEAP_FLAGS) != 0) return EINVAL;
  // "Allocations from all heaps have to begin and end on page boundaries." A length within
  // 4095 of 2^64 wraps to 0 here and is refused like len 0.
  const uint64_t len = (data.len + sys::kPageSize - 1) & ~uint64_t{sys::kPageSize - 1};
  if (len == 0) return EINVAL;

  HeapCounters& counters = heap.counters();
  heap.context().buffers.ProcessReleases();
  Result<DmaBufRef> buf = heap.ops().Allocate(heap, len, data.fd_flags, data.heap_flags);
  if (!buf.ok()) {
    counters.failures.fetch_add(1, std::memory_order_relaxed);
    return buf.error();
  }
  // dma_buf_fd. On failure the creator fd closes here, and the buffer is released through its
  // watch like any other.
  Result<UniqueFd> fd = DmaBufFd(**buf, data.fd_flags);
  if (!fd.ok()) return fd.error();
  Result<uint32_t> number = installer.Install(std::move(fd).value(), data.fd_flags);
  if (!number.ok()) return number.error();
  counters.allocations.fetch_add(1, std::memory_order_relaxed);
  data.fd = *number;
  return 0;
}

}  // namespace

Result<void> SelfUserMemory::CopyIn(void* dst, size_t len) {
  return sys::CopyFromUser(dst, arg_, len);
}

Result<void> SelfUserMemory::CopyOut(const void* src, size_t len) {
  return sys::CopyToUser(arg_, src, len);
}

Result<uint32_t> SelfFdInstaller::Install(UniqueFd fd, uint32_t /*fd_flags*/) {
  return static_cast<uint32_t>(fd.release());
}

int DmaHeapIoctl(DmaHeap& heap, unsigned int cmd, IoctlUserMemory& user,
                 FdInstaller& installer) {
  const HeapIoctlSizes sizes = DmaHeapIoctlSizes(cmd);
  if (!sizes.valid) return EINVAL;
  const size_t ksize = std::max({sizes.in_size, sizes.out_size, kDrvSize});

  // _IOC_SIZE is at most 16383: the kernel's 128-byte stack buffer, else a heap buffer.
  std::array<uint8_t, 128> stack_data;
  std::vector<uint8_t> heap_data;
  uint8_t* kdata = stack_data.data();
  if (ksize > stack_data.size()) {
    heap_data.resize(ksize);
    kdata = heap_data.data();
  }
  if (!user.CopyIn(kdata, sizes.in_size).ok()) return EFAULT;
  std::memset(kdata + sizes.in_size, 0, ksize - sizes.in_size);

  dma_heap_allocation_data data;
  std::memcpy(&data, kdata, sizeof(data));
  int err = Allocate(heap, data, installer);
  std::memcpy(kdata, &data, sizeof(data));

  if (!user.CopyOut(kdata, sizes.out_size).ok()) return EFAULT;
  return err;
}

}  // namespace dmaheap
