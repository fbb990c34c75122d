// The vocabulary of the DMA API (include/linux/dma-direction.h, dma-mapping.h, scatterlist.h)
// shared by the DMA model (src/dma/), the dma-buf core and the kernel API: directions, an sg
// entry, mapping attributes. Header-only, with no dependency, so every layer above can use it.
#ifndef DMAHEAP_SRC_DMA_DMA_TYPES_H
#define DMAHEAP_SRC_DMA_DMA_TYPES_H

#include <cstdint>
#include <vector>

namespace dmaheap {

// enum dma_data_direction. The values are the kernel's (and kapi.h's).
enum class DmaDirection { kBidirectional = 0, kToDevice = 1, kFromDevice = 2 };

// One sg entry. In an exporter's table: a modelled physical address (page frame << 12, never a
// host address) and a length; in a mapped table: the address the device puts on its bus (DMA
// address or IOVA) and the length. The kernel API's dma_buf_sg_entry has the same layout, so an
// exporter's table is read where it lies (kapi/ checks the layouts match).
struct ScatterEntry {
  uint64_t dma_address;
  uint64_t length;
  bool operator==(const ScatterEntry&) const = default;
};
using SgTable = std::vector<ScatterEntry>;

// DMA attributes (include/linux/dma-mapping.h): the one the heaps use.
inline constexpr unsigned long kDmaAttrSkipCpuSync = 1UL << 5;  // DMA_ATTR_SKIP_CPU_SYNC

// DMA_MAPPING_ERROR: what phys_to_dma gives for an address outside the device's dma-ranges.
inline constexpr uint64_t kDmaMappingError = ~uint64_t{0};

// DMA_BIT_MASK(n).
constexpr uint64_t DmaBitMask(unsigned bits) {
  return bits >= 64 ? ~uint64_t{0} : (uint64_t{1} << bits) - 1;
}

const char* DmaDirectionName(DmaDirection dir);

}  // namespace dmaheap

#endif  // DMAHEAP_SRC_DMA_DMA_TYPES_H
