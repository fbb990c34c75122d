// Boards: a flattened device tree (a real .dtb, compiled by dtc) read with libfdt, as the
// kernel's early boot reads it (drivers/of/fdt.c, of_reserved_mem.c, kernel/dma/contiguous.c).
//
// What a board declares:
// - `/memory` (device_type "memory"): the modelled RAM, one bank.
// - `/reserved-memory` children: `reg` (fixed) or `size` (+ `alignment`, `alloc-ranges`, placed
//   at boot), `compatible`, `reusable`, `no-map`, `linux,cma-default`, `status`, and dmaheap's
//   own `dmaheap,heap` (this region becomes a heap: a reusable one through the CMA heap, a
//   no-map one through the carveout heap; firmware regions without it never do).
// - `/chosen/bootargs`: `cma=` (kernel/dma/contiguous.c, memparse rules); the rest is ignored.
// - Device nodes (BoardDevice): those with `memory-region`, `iommus`, `dma-coherent`, dmaheap's
//   `dmaheap,dma-bits` / `dmaheap,dma-contiguous`, or compatible "dmaheap,vgem".
// - Beside NAME.dtb, NAME.modules.load: the modules booted, one per line, in order (Android's
//   vendor modules.load); absent means none.
//
// Every error is EINVAL (ENOMEM for a region that does not fit, ENOENT for a board not found)
// with a message on stderr naming the file and the node or argument.
#ifndef DMAHEAP_SRC_BOARD_BOARD_H
#define DMAHEAP_SRC_BOARD_BOARD_H

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "dma/dma_device.h"
#include "dma/swiotlb.h"
#include "dmaheap/result.h"
#include "mm/contiguous.h"
#include "mm/reserved_mem.h"

namespace dmaheap {

// A device node that imports buffers: what the DMA API will make of it (src/dma/). Read from
// the device node and its parent bus:
// - `iommus` = <&iommu ...>: behind that IOMMU, with an IOVA space of `dmaheap,iova-bits` of the
//   IOMMU node (default 32);
// - the parent bus's `dma-ranges` = <child-bus parent-bus size> (one range): the bus offset
//   (CPU physical = bus address + offset) and the highest bus address the bus reaches;
// - `dmaheap,dma-bits`: the DMA mask its driver sets (default 32, the platform bus default), or
//   `dmaheap,dma-mask` = <hi lo> for a mask that is not all ones (venus: 0xdfffffff);
// - `dmaheap,max-segment-size`: what its driver sets with dma_set_max_seg_size (default 64 KiB);
// - `dma-coherent`: its DMA snoops the CPU caches (CPU access needs no cache maintenance);
// - `dmaheap,dma-contiguous`: its driver imports through the DRM GEM DMA helpers, which refuse
//   a buffer whose DMA addresses are not one contiguous range (there is no DT property for a
//   driver's choice of helpers; this stands in for it);
// - `compatible = "dmaheap,vgem"`: a virtual GEM device (vgem), the kernel selftest's importer.
struct BoardDevice {
  std::string name;                        // the node's name: "dpe@e8600000"
  std::string path;                        // "/soc/dpe@e8600000"
  std::string compatible;                  // first string
  std::vector<std::string> memory_region;  // names of the reserved-memory nodes it uses
  bool iommu = false;                      // has `iommus`
  std::string iommu_node;                  // the IOMMU's node name
  uint32_t iova_bits = 32;                 // the IOMMU's `dmaheap,iova-bits`
  uint32_t dma_bits = 32;                  // `dmaheap,dma-bits`
  bool dma_bits_declared = false;          // the property is present
  uint64_t dma_mask = 0;                   // `dmaheap,dma-mask`; 0 = DMA_BIT_MASK(dma_bits)
  uint64_t max_seg_size = uint64_t{64} << 10;  // `dmaheap,max-segment-size`
  bool has_dma_ranges = false;             // the parent bus declares `dma-ranges`
  bool translated = false;                 // … with an entry (not the empty 1:1 form)
  uint64_t bus_start = 0;                  // the entry: bus [bus_start, bus_limit] is CPU
  uint64_t cpu_start = 0;                  // [cpu_start, …)
  uint64_t bus_limit = 0;                  // highest bus address of dma-ranges; 0 = none
  bool coherent = false;                   // `dma-coherent`
  bool needs_contiguous = false;           // `dmaheap,dma-contiguous`
  bool vgem = false;                       // compatible "dmaheap,vgem"
};

// `swiotlb=[nslabs][,nareas][,force|noforce]` of the bootargs (kernel/dma/swiotlb.c).
struct SwiotlbCmdline {
  uint64_t nslabs = 0;  // 0: the default 64 MiB
  bool force = false;
  bool noforce = false;
};

struct Board {
  std::string source;  // the file it was read from
  std::string model;
  std::string compatible;
  uint64_t ram_base = 0;
  uint64_t ram_bytes = 0;
  std::vector<ReservedRegion> regions;  // as declared, in DT order (dynamic ones unplaced)
  std::string bootargs;
  std::optional<CmaCmdline> cma;  // the last cma= of bootargs
  SwiotlbCmdline swiotlb;         // swiotlb= of bootargs
  std::vector<BoardDevice> devices;
  std::vector<std::string> modules;  // NAME.modules.load
  std::string modules_load;          // its path; "" when there is none
};

// Parses a DTB. `source` names it in messages.
Result<Board> ParseBoardBlob(std::span<const uint8_t> blob, const std::string& source);

// The `cma=` and `swiotlb=` words of a kernel command line (/chosen/bootargs) into `board`,
// which keeps the whole line; other words are the kernel's and ignored. EINVAL, with a message
// naming `source` and the word, for one it cannot read.
Result<void> ParseBootargs(const std::string& bootargs, const std::string& source, Board& board);

// A board by name (NAME.dtb on BoardPath()) or by path (anything with a '/' or ending .dtb),
// with its modules.load.
Result<Board> LoadBoard(const std::string& name_or_path);

// $DMAHEAP_BOARD_PATH, then dmaheap/boards beside libdmaheap.so.
std::vector<std::string> BoardPath();

// Boot-time placement, in the kernel's order: fixed regions, then the dynamic ones in DT order
// (top-down in their alloc-ranges, CMA ones on pageblock alignment), then the cma= area
// ("reserved", top-down below min(limit, 4 GiB) as arm64's DMA32 limit makes it). With cma=
// the DT default CMA node is skipped, with the kernel's message. `log` receives the kernel's
// informational lines ("Reserved memory: created CMA memory pool at …").
Result<std::vector<ReservedRegion>> PlaceReservedMemory(const Board& board,
                                                        std::vector<std::string>* log);

// The swiotlb pool arm64 sets up at boot (mem_init): when RAM reaches past the 32-bit DMA zone
// (or swiotlb=force) and not swiotlb=noforce, nslabs × 2 KiB (default 64 MiB) placed top-down
// below the zone's end, after the reserved memory. bytes == 0: no pool. `log` receives
// "software IO TLB: mapped [mem …] (NMB)".
Result<SwiotlbConfig> PlaceSwiotlb(const Board& board, const std::vector<ReservedRegion>& placed,
                                   std::vector<std::string>* log);

// The device as the DMA API sees it once its driver probed (of_dma_configure + the driver's
// dma_set_mask / dma_set_max_seg_size).
DmaDeviceSpec DmaSpecOf(const BoardDevice& device);

// What `dmaheap board FILE` prints: RAM, regions as placed, cma=, devices, modules.
std::string DescribeBoard(const Board& board, const std::vector<ReservedRegion>& placed,
                          const std::vector<std::string>& log);

}  // namespace dmaheap

#endif  // DMAHEAP_SRC_BOARD_BOARD_H
