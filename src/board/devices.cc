// A board's devices as the DMA API sees them (DmaSpecOf) and as `dmaheap board` shows them.
#include <cinttypes>
#include <string>

#include "board/board.h"
#include "board/board_text.h"

namespace dmaheap {

DmaDeviceSpec DmaSpecOf(const BoardDevice& d) {
  DmaDeviceSpec spec;
  spec.name = d.name;
  // of_dma_configure: the platform default (32-bit) clamped to the dma-ranges end; a driver's
  // dma_set_mask (dmaheap,dma-bits) replaces it, and the bus limit still applies at map time.
  spec.dma_mask = d.dma_mask != 0 ? d.dma_mask : DmaBitMask(d.dma_bits);
  if (d.translated && !d.dma_bits_declared && d.dma_mask == 0) {
    const unsigned end_bits = 64 - static_cast<unsigned>(__builtin_clzll(d.bus_limit));
    spec.dma_mask &= DmaBitMask(end_bits);
  }
  if (d.translated) {
    spec.has_range_map = true;
    spec.bus_start = d.bus_start;
    spec.cpu_start = d.cpu_start;
    spec.range_size = d.bus_limit - d.bus_start + 1;
    spec.bus_limit = d.bus_limit;
  }
  spec.coherent = d.coherent;
  spec.iommu = d.iommu;
  spec.iommu_name = d.iommu_node;
  spec.iova_bits = d.iova_bits;
  spec.max_seg_size = d.max_seg_size;
  spec.needs_contiguous = d.needs_contiguous;
  spec.vgem = d.vgem;
  return spec;
}

std::string DeviceConstraints(const BoardDevice& d) {
  const DmaDeviceSpec spec = DmaSpecOf(d);
  std::string out = d.iommu ? Format("iommu=%s iova=%u-bit", d.iommu_node.c_str(), d.iova_bits)
                            : std::string("no-iommu");
  out += Format(" dma-mask=0x%" PRIx64, spec.dma_mask);
  if (d.translated) {
    out += Format(" dma-ranges=0x%" PRIx64 "@0x%" PRIx64 "-0x%" PRIx64, d.cpu_start, d.bus_start,
                  d.bus_limit);
  }
  out += d.coherent ? " coherent" : " non-coherent";
  if (d.needs_contiguous) out += " contiguous";
  out += Format(" max-seg=%" PRIu64, d.max_seg_size);
  if (d.vgem) out += " vgem";
  for (size_t i = 0; i < d.memory_region.size(); ++i)
    out += (i == 0 ? " memory-region=" : ",") + d.memory_region[i];
  return out;
}

}  // namespace dmaheap
