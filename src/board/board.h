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
// - Nodes with `memory-region` or `dma-ranges`-like limits: declared devices (not yet used).
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

#include "dmaheap/result.h"
#include "mm/contiguous.h"
#include "mm/reserved_mem.h"

namespace dmaheap {

struct BoardDevice {
  std::string path;                        // "/soc/dpe@e8600000"
  std::string compatible;                  // first string
  std::vector<std::string> memory_region;  // names of the reserved-memory nodes it uses
  bool iommu = false;                      // has `iommus`
  uint32_t dma_bits = 0;                   // `dmaheap,dma-bits`; 0 = unlimited
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
  std::vector<BoardDevice> devices;
  std::vector<std::string> modules;  // NAME.modules.load
  std::string modules_load;          // its path; "" when there is none
};

// Parses a DTB. `source` names it in messages.
Result<Board> ParseBoardBlob(std::span<const uint8_t> blob, const std::string& source);

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

// What `dmaheap board FILE` prints: RAM, regions as placed, cma=, devices, modules.
std::string DescribeBoard(const Board& board, const std::vector<ReservedRegion>& placed,
                          const std::vector<std::string>& log);

}  // namespace dmaheap

#endif  // DMAHEAP_SRC_BOARD_BOARD_H
