// The dma-buf core's input rules, in one place for every path that serves buffer fds: the
// ioctl dispatcher (dma_buf_ioctl.h), the core's mmap check and the preload shim's mmap, lseek
// and friends. Header-only, with no dependency beyond the UAPI, so the shim can use it without
// the core.
#ifndef DMAHEAP_SRC_DMABUF_DMA_BUF_RULES_H
#define DMAHEAP_SRC_DMABUF_DMA_BUF_RULES_H

#include <sys/mman.h>

#include <cstdint>

#include "dma/dma_types.h"
#include "dmaheap/uapi/linux/dma-buf.h"

namespace dmaheap {

// DMA_BUF_IOCTL_SYNC: flags ⊆ 0x7 and READ and/or WRITE, else EINVAL.
constexpr bool ValidSyncFlags(uint64_t flags) {
  return (flags & ~static_cast<uint64_t>(DMA_BUF_SYNC_VALID_FLAGS_MASK)) == 0 &&
         (flags & DMA_BUF_SYNC_RW) != 0;
}

// The direction valid SYNC flags name: READ → kFromDevice, WRITE → kToDevice, READ|WRITE →
// kBidirectional.
constexpr DmaDirection SyncDirection(uint64_t flags) {
  switch (flags & DMA_BUF_SYNC_RW) {
    case DMA_BUF_SYNC_READ:
      return DmaDirection::kFromDevice;
    case DMA_BUF_SYNC_WRITE:
      return DmaDirection::kToDevice;
    default:
      return DmaDirection::kBidirectional;
  }
}

// EXPORT/IMPORT_SYNC_FILE: flags ⊆ READ|WRITE and non-zero, else EINVAL.
constexpr bool ValidSyncFileFlags(uint32_t flags) {
  return (flags & ~static_cast<uint32_t>(DMA_BUF_SYNC_RW)) == 0 && (flags & DMA_BUF_SYNC_RW) != 0;
}

// dma_buf_mmap_internal: a page-aligned offset, a non-empty length, and vm_pgoff + the vma's
// pages within the buffer's pages.
constexpr bool MmapRangeValid(uint64_t offset, uint64_t length, uint64_t buffer_size) {
  constexpr uint64_t kPage = 4096;
  const uint64_t pages = (length + kPage - 1) / kPage;
  const uint64_t buf_pages = buffer_size / kPage;
  return offset % kPage == 0 && length != 0 && pages <= buf_pages &&
         offset / kPage <= buf_pages - pages;
}

// Heaps map buffers into shared vmas only; a private (copy-on-write) mapping is EINVAL.
constexpr bool SharedMapping(int flags) { return (flags & MAP_TYPE) != MAP_PRIVATE; }

// kernel-facts.md §12, as the rules compute it.
static_assert(ValidSyncFlags(0x1) && ValidSyncFlags(0x3) && ValidSyncFlags(0x6) &&
              ValidSyncFlags(0x7) && !ValidSyncFlags(0x0) && !ValidSyncFlags(0x8) &&
              !ValidSyncFlags(0xb));
static_assert(MmapRangeValid(0, 16384, 16384) && MmapRangeValid(12288, 4096, 16384) &&
              !MmapRangeValid(16384, 4096, 16384) && !MmapRangeValid(12288, 8192, 16384) &&
              !MmapRangeValid(0, 20480, 16384) && !MmapRangeValid(0, 0, 4096));
static_assert(SyncDirection(DMA_BUF_SYNC_READ) == DmaDirection::kFromDevice &&
              SyncDirection(DMA_BUF_SYNC_WRITE | DMA_BUF_SYNC_END) == DmaDirection::kToDevice &&
              SyncDirection(DMA_BUF_SYNC_RW) == DmaDirection::kBidirectional);

}  // namespace dmaheap

#endif  // DMAHEAP_SRC_DMABUF_DMA_BUF_RULES_H
