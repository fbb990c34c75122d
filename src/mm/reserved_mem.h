// Reserved memory of a booted System (drivers/of/of_reserved_mem.c + kernel/dma/contiguous.c):
// the regions a board takes out of the modelled RAM before the page allocator sees it, and the
// CMA areas made of the reusable ones.
//
// A region is placed (base and size final, page-aligned, inside RAM, no overlaps) before it gets
// here; src/board/ does the placing and the checking, with the kernel's rules and messages.
// ReservedMemory only records what boot made of them. Its contents never change after boot, so
// readers need no lock (each CmaArea locks its own bitmap).
#ifndef DMAHEAP_SRC_MM_RESERVED_MEM_H
#define DMAHEAP_SRC_MM_RESERVED_MEM_H

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "dmaheap/result.h"
#include "mm/cma.h"
#include "mm/page_alloc.h"

namespace dmaheap {

// CMA_MIN_ALIGNMENT_BYTES on 4 KiB pages: one pageblock (pageblock_order 9, 2 MiB). CMA areas
// start and end on it.
inline constexpr uint64_t kCmaMinAlignment = uint64_t{2} << 20;

// One child of /reserved-memory, or the cma= area (named "reserved").
struct ReservedRegion {
  std::string name;        // the node's full name ("linux,cma", "carveout@60000000")
  std::string compatible;  // its first compatible string; "" when none
  uint64_t base = 0;       // placed at boot when !fixed
  uint64_t size = 0;
  bool fixed = false;        // `reg` (else `size`, placed at boot)
  bool reusable = false;     // `reusable`
  bool no_map = false;       // `no-map`
  bool cma_default = false;  // `linux,cma-default` (or the cma= area)
  bool heap = false;         // `dmaheap,heap`: the board exports it as a heap
  uint64_t alignment = 0;    // dynamic regions: `alignment`; 0 = one page
  struct Range {
    uint64_t base;
    uint64_t size;
  };
  std::vector<Range> alloc_ranges;  // dynamic regions: `alloc-ranges`; empty = all of RAM

  // What rmem_cma_setup accepts: a reusable shared-dma-pool that is not no-map.
  bool IsCma() const { return compatible == "shared-dma-pool" && reusable && !no_map; }
  uint64_t end() const { return base + size; }
};

// A CMA area with what the board said of it (struct cma's flags, as dmaheap uses them).
struct CmaRegion {
  std::unique_ptr<CmaArea> area;
  bool is_default = false;  // dma_contiguous_default_area
  bool heap = false;        // marked `dmaheap,heap` by the board
};

class ReservedMemory {
 public:
  ReservedMemory(const ReservedMemory&) = delete;
  ReservedMemory& operator=(const ReservedMemory&) = delete;

  // Takes every region out of `pages` (memblock_reserve / nomap) and makes a CmaArea of each
  // CMA one (order_per_bit 0, as rmem_cma_setup and the cma= area use). EINVAL for a region
  // the page allocator cannot reserve, or a CMA region off the pageblock alignment; nothing is
  // kept of a failed boot but `pages`, which
  // may hold part of the reservation and must be discarded with it (SystemCore::Boot does).
  static Result<std::unique_ptr<ReservedMemory>> Create(PageAllocator& pages,
                                                        std::vector<ReservedRegion> regions);
  // No reserved memory at all.
  static std::unique_ptr<ReservedMemory> Empty();

  const std::vector<ReservedRegion>& regions() const { return regions_; }
  std::vector<CmaRegion>& cma() { return cma_; }
  const std::vector<CmaRegion>& cma() const { return cma_; }
  // dev_get_cma_area(NULL): the default area, or null.
  CmaRegion* default_cma();

 private:
  ReservedMemory() = default;

  std::vector<ReservedRegion> regions_;
  std::vector<CmaRegion> cma_;
};

// Each area as `grep -r . /sys/kernel/debug/cma/` shows it ("NAME/used: 2048", decimal), then
// a picture of its bitmap: "NAME/map: [##+...]" with `cells` characters, '#' all used, '+' some
// used, '.' free. With `bitmap`, also debugfs's "NAME/bitmap: " line (the bitmap as u32 words,
// decimal, space-separated). "" when there are no areas.
std::string CmaDebugfsText(const ReservedMemory& reserved, bool bitmap = false, size_t cells = 64);

}  // namespace dmaheap

#endif  // DMAHEAP_SRC_MM_RESERVED_MEM_H
