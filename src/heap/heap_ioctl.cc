#include "heap/heap_ioctl.h"

#include <fcntl.h>

#include <algorithm>
#include <array>
#include <cstring>
#include <vector>

#include "dmaheap/uapi/linux/dma-heap.h"

namespace dmaheap {
namespace {

constexpr unsigned int kAllocCmd = DMA_HEAP_IOCTL_ALLOC;
constexpr size_t kDrvSize = sizeof(dma_heap_allocation_data);
static_assert(DmaHeapIoctlSizes(kAllocCmd).in_size == 24 &&
              DmaHeapIoctlSizes(kAllocCmd).out_size == 24);

// dma_heap_ioctl_allocate after copy-in: the byte-level check, then the core.
int Allocate(AllocRequest request, dma_heap_allocation_data& data, FdInstaller& installer) {
  if (data.fd != 0) return EINVAL;
  request.len = data.len;
  request.fd_flags = data.fd_flags;
  request.heap_flags = data.heap_flags;
  Result<Allocation> allocation = DmaHeapAllocate(request);
  if (!allocation.ok()) return allocation.error();
  Result<int> number =
      installer.Install(std::move(allocation->fd), (data.fd_flags & O_CLOEXEC) != 0);
  if (!number.ok()) return number.error();
  data.fd = static_cast<uint32_t>(*number);
  return 0;
}

}  // namespace

int DmaHeapIoctl(unsigned int cmd, const AllocRequest& request, IoctlArg& arg,
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
  if (!arg.CopyIn(kdata, sizes.in_size).ok()) return EFAULT;
  std::memset(kdata + sizes.in_size, 0, ksize - sizes.in_size);

  dma_heap_allocation_data data;
  std::memcpy(&data, kdata, sizeof(data));
  int err = Allocate(request, data, installer);
  std::memcpy(kdata, &data, sizeof(data));

  // As on Linux, an fd already installed stays installed when the copy-back fails (§2.4).
  if (!arg.CopyOut(kdata, sizes.out_size).ok()) return EFAULT;
  return err;
}

}  // namespace dmaheap
