// A board's devices as the DMA API sees them (DmaSpecOf) and as `dmaheap board` / `dmaheap
// devices` show them.
#include <cinttypes>
#include <string>

#include "base/json.h"
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

std::string DescribeDevices(const Board& board, bool json) {
  std::string out;
  if (json) {
    out = "[";
    for (size_t i = 0; i < board.devices.size(); ++i) {
      const BoardDevice& d = board.devices[i];
      const DmaDeviceSpec spec = DmaSpecOf(d);
      std::string regions = "[";
      for (size_t r = 0; r < d.memory_region.size(); ++r)
        regions += (r == 0 ? "" : ", ") + JsonString(d.memory_region[r]);
      regions += "]";
      out += Format("%s\n  {\"name\": %s, \"path\": %s, \"compatible\": %s, ", i == 0 ? "" : ",",
                    JsonString(d.name).c_str(), JsonString(d.path).c_str(),
                    JsonString(d.compatible).c_str());
      out += Format("\"iommu\": %s, \"iova_bits\": %u, \"dma_mask\": %" PRIu64
                    ", \"bus_limit\": %" PRIu64 ", \"dma_offset\": %" PRId64 ", ",
                    d.iommu ? JsonString(d.iommu_node).c_str() : "null", d.iommu ? d.iova_bits : 0,
                    spec.dma_mask, spec.bus_limit,
                    static_cast<int64_t>(spec.cpu_start - spec.bus_start));
      out += Format("\"coherent\": %s, \"contiguous\": %s, \"max_segment_size\": %" PRIu64
                    ", \"vgem\": %s, \"memory_region\": %s}",
                    d.coherent ? "true" : "false", d.needs_contiguous ? "true" : "false",
                    d.max_seg_size, d.vgem ? "true" : "false", regions.c_str());
    }
    return out + (board.devices.empty() ? "]\n" : "\n]\n");
  }
  if (board.devices.empty()) return "(no devices)\n";
  for (const BoardDevice& d : board.devices) {
    const DmaDeviceSpec spec = DmaSpecOf(d);
    out += Format("%s  %s%s\n", d.name.c_str(), d.path.c_str(),
                  d.compatible.empty() ? "" : ("  " + d.compatible).c_str());
    if (d.iommu) {
      out += Format("  iommu:        %s, %u-bit IOVA space (one contiguous range per mapping)\n",
                    d.iommu_node.c_str(), d.iova_bits);
    } else {
      out += "  iommu:        none (DMA addresses are physical)\n";
    }
    out += Format("  dma mask:     0x%" PRIx64 "\n", spec.dma_mask);
    if (d.translated) {
      out += Format("  dma-ranges:   bus 0x%" PRIx64 "-0x%" PRIx64 " = CPU 0x%" PRIx64
                    " (bus limit 0x%" PRIx64 ")\n",
                    d.bus_start, d.bus_limit, d.cpu_start, d.bus_limit);
    }
    out += Format("  coherent:     %s\n", d.coherent ? "yes (no cache maintenance)"
                                                     : "no (CPU access syncs its mappings)");
    out += Format("  contiguous:   %s\n",
                  d.needs_contiguous ? "required (GEM DMA helpers: one DMA range)" : "no");
    out += Format("  max segment:  %" PRIu64 " bytes\n", d.max_seg_size);
    if (!d.memory_region.empty()) {
      std::string regions;
      for (const std::string& m : d.memory_region) regions += (regions.empty() ? "" : ", ") + m;
      out += "  memory-region: " + regions + "\n";
    }
    if (d.vgem) out += "  vgem:         yes (/dev/dri/cardN importer)\n";
  }
  return out;
}

}  // namespace dmaheap
