// DmaDevice's two mapping paths: dma-direct (kernel/dma/direct.c, with swiotlb bounces) and
// iommu-dma (drivers/iommu/dma-iommu.c: iommu_dma_map_sg and __finalise_sg).
#include <algorithm>
#include <cinttypes>
#include <cstdint>
#include <cstdio>

#include "base/check.h"
#include "dma/dma_device.h"

namespace dmaheap {

Result<DmaMapping> DmaDevice::MapDirect(std::span<const ScatterEntry> pages, DmaDirection dir,
                                        unsigned long attrs, DmaStats* buffer) {
  DmaMapping m;
  m.dir = dir;
  m.attrs = attrs;
  // On failure what was mapped is unmapped again without cache work (dma_direct_map_sg).
  auto fail = [&](int err) -> Result<DmaMapping> {
    for (uint64_t slot : m.bounce) {
      if (slot != 0) swiotlb_->Unmap(slot);
    }
    return Errno(err);
  };
  for (const ScatterEntry& e : pages) {
    uint64_t addr = PhysToDma(e.dma_address);
    uint64_t slot = 0;
    const bool pool = swiotlb_ != nullptr && swiotlb_->active();
    if ((pool && swiotlb_->force()) || !Capable(addr, e.length)) {
      if (!pool) {
        std::fprintf(stderr,
                     "dmaheap: %s: DMA addr 0x%016" PRIx64 "+%" PRIu64 " overflow (mask %" PRIx64
                     ", bus limit %" PRIx64 ").\n",
                     name().c_str(), addr, e.length, spec_.dma_mask, spec_.bus_limit);
        return fail(EIO);
      }
      Result<uint64_t> tlb = swiotlb_->Map(e.length, name());
      if (!tlb.ok()) return fail(EIO);
      slot = *tlb;
      addr = PhysToDma(slot);
      if (!Capable(addr, e.length)) {
        std::fprintf(stderr,
                     "dmaheap: %s: swiotlb addr 0x%016" PRIx64 "+%" PRIu64 " overflow (mask %" PRIx64
                     ", bus limit %" PRIx64 ").\n",
                     name().c_str(), addr, e.length, spec_.dma_mask, spec_.bus_limit);
        swiotlb_->Unmap(slot);
        return fail(EIO);
      }
      // The CPU's data goes to the slot at map time, whatever the direction.
      Count(&DmaStats::bounces, 1, buffer);
      Count(&DmaStats::bytes_bounced, e.length, buffer);
    }
    m.pages.push_back(e);
    m.bounce.push_back(slot);
    m.segments.push_back({addr, e.length});
  }
  if (!(attrs & kDmaAttrSkipCpuSync)) CacheForDevice(m.pages, buffer);
  return m;
}

Result<DmaMapping> DmaDevice::MapIommu(std::span<const ScatterEntry> pages, DmaDirection dir,
                                       unsigned long attrs, DmaStats* buffer) {
  const uint64_t granule = iova_->granule();
  // The layout pass: each entry takes whole granules from its offset in its first one.
  uint64_t iova_len = 0;
  for (const ScatterEntry& e : pages) {
    const uint64_t off = e.dma_address & (granule - 1);
    const uint64_t len = (e.length + off + granule - 1) & ~(granule - 1);
    if (iova_len + len < iova_len) return Errno(EINVAL);  // -EOVERFLOW, reported as EINVAL
    iova_len += len;
  }
  const uint64_t iova = TRY(iova_->Alloc(iova_len, std::min(limit(), iova_->end() - 1)));
  DmaMapping m;
  m.dir = dir;
  m.attrs = attrs;
  m.iova = iova;
  m.iova_len = iova_len;
  m.pages.assign(pages.begin(), pages.end());
  if (!(attrs & kDmaAttrSkipCpuSync)) CacheForDevice(m.pages, buffer);
  // __finalise_sg: an entry joins the current segment when it starts on a granule, the segment
  // stays within max_seg_size, and the segment so far ended on a granule boundary. The lengths
  // are the kernel's unsigned ints: a first entry already longer than max_seg_size makes
  // `max_len - cur_len` wrap, and what follows joins it (a system-heap buffer's 1 MiB blocks
  // behind a 64 KiB-segment device come out as one segment, as they do on a device).
  const uint32_t max_len = static_cast<uint32_t>(std::min<uint64_t>(spec_.max_seg_size, UINT32_MAX));
  uint64_t addr = iova;
  uint32_t cur_len = 0;
  for (const ScatterEntry& e : pages) {
    const uint64_t off = e.dma_address & (granule - 1);
    const uint64_t span = (e.length + off + granule - 1) & ~(granule - 1);
    const auto length = static_cast<uint32_t>(e.length);
    if (cur_len != 0 && off == 0 && static_cast<uint32_t>(max_len - cur_len) >= length) {
      cur_len += length;
      m.segments.back().length = cur_len;
    } else {
      cur_len = length;
      m.segments.push_back({addr + off, e.length});
    }
    addr += span;
    if (e.length + off < span) cur_len = 0;
  }
  return m;
}

}  // namespace dmaheap
