#include "mm/reserved_mem.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>

#include "base/check.h"
#include "platform/sys.h"

namespace dmaheap {

Result<std::unique_ptr<ReservedMemory>> ReservedMemory::Create(
    PageAllocator& pages, std::vector<ReservedRegion> regions) {
  std::unique_ptr<ReservedMemory> out(new ReservedMemory());
  // Areas are checked before anything is reserved.
  for (const ReservedRegion& r : regions) {
    if (r.size == 0 || r.base % sys::kPageSize != 0 || r.size % sys::kPageSize != 0) {
      std::fprintf(stderr, "Reserved memory: %s: base and size must be whole pages\n",
                   r.name.c_str());
      return Errno(EINVAL);
    }
    if (!r.IsCma()) continue;
    if ((r.base | r.size) % kCmaMinAlignment != 0) {
      std::fprintf(stderr, "Reserved memory: incorrect alignment of CMA region %s\n",
                   r.name.c_str());
      return Errno(EINVAL);
    }
    CmaRegion region;
    region.area = TRY(CmaArea::Create(r.name, r.base >> sys::kPageShift,
                                      r.size >> sys::kPageShift, 0));
    region.is_default = r.cma_default;
    region.heap = r.heap;
    out->cma_.push_back(std::move(region));
  }
  for (const ReservedRegion& r : regions) {
    Result<void> reserved = pages.Reserve(r.base >> sys::kPageShift, r.size >> sys::kPageShift);
    if (reserved.ok()) continue;
    std::fprintf(stderr,
                 "Reserved memory: %s at 0x%016" PRIx64 ", size %" PRIu64
                 " KiB: %s\n",
                 r.name.c_str(), r.base, r.size >> 10,
                 reserved.error() == EBUSY ? "overlaps memory already reserved" : "outside RAM");
    return Errno(EINVAL);
  }
  out->regions_ = std::move(regions);
  return out;
}

std::unique_ptr<ReservedMemory> ReservedMemory::Empty() {
  return std::unique_ptr<ReservedMemory>(new ReservedMemory());
}

CmaRegion* ReservedMemory::default_cma() {
  for (CmaRegion& c : cma_) {
    if (c.is_default) return &c;
  }
  return nullptr;
}

std::string CmaDebugfsText(const ReservedMemory& reserved, bool bitmap, size_t cells) {
  std::string out;
  char line[256];
  for (const CmaRegion& region : reserved.cma()) {
    const CmaArea& a = *region.area;
    const char* n = a.name().c_str();
    std::snprintf(line, sizeof(line),
                  "%s/base_pfn: %" PRIu64 "\n%s/count: %" PRIu64 "\n%s/order_per_bit: %u\n"
                  "%s/used: %" PRIu64 "\n%s/maxchunk: %" PRIu64 "\n",
                  n, a.base_pfn(), n, a.count(), n, a.order_per_bit(), n, a.used(), n,
                  a.maxchunk());
    out += line;
    // One cell per count/cells pages (at least one bit's worth).
    const std::vector<uint32_t> words = a.BitmapWords();
    const uint64_t bits = a.count() >> a.order_per_bit();
    const uint64_t per_cell = std::max<uint64_t>(1, (bits + cells - 1) / cells);
    std::string map;
    for (uint64_t start = 0; start < bits; start += per_cell) {
      uint64_t set = 0;
      const uint64_t end = std::min(bits, start + per_cell);
      for (uint64_t b = start; b < end; ++b) set += (words[b / 32] >> (b % 32)) & 1;
      map += set == 0 ? '.' : set == end - start ? '#' : '+';
    }
    std::snprintf(line, sizeof(line), "%s/map: [%s] %" PRIu64 " pages a cell\n", n, map.c_str(),
                  per_cell << a.order_per_bit());
    out += line;
    if (!bitmap) continue;
    out += a.name() + "/bitmap:";
    for (uint32_t w : words) out += " " + std::to_string(w);
    out += "\n";
  }
  return out;
}

}  // namespace dmaheap
