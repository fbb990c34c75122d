// Boot-time placement of a board's reserved memory (drivers/of/of_reserved_mem.c, memblock's
// top-down search, kernel/dma/contiguous.c's cma= area) and the description `dmaheap board`
// prints (board.h).

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <optional>

#include "board/board.h"
#include "board/board_text.h"
#include "platform/sys.h"

namespace dmaheap {
namespace {

constexpr uint64_t kFourGiB = uint64_t{1} << 32;

// [lo, hi) ranges already taken, kept sorted.
class Occupied {
 public:
  void Add(uint64_t base, uint64_t end) {
    taken_.push_back({base, end});
    std::sort(taken_.begin(), taken_.end());
  }
  // The first taken range overlapping [base, end), or null.
  const std::pair<uint64_t, uint64_t>* Overlap(uint64_t base, uint64_t end) const {
    for (const auto& t : taken_) {
      if (t.first < end && base < t.second) return &t;
    }
    return nullptr;
  }
  // memblock's top-down search: the highest `align`ed base of `size` bytes inside [lo, hi)
  // that overlaps nothing taken.
  std::optional<uint64_t> TopDown(uint64_t size, uint64_t align, uint64_t lo, uint64_t hi) const {
    uint64_t gap_end = hi;
    for (auto it = taken_.rbegin();; ++it) {
      const uint64_t gap_start = it == taken_.rend() ? lo : std::max(lo, it->second);
      if (gap_end >= gap_start + size && gap_end >= size) {
        const uint64_t base = (gap_end - size) & ~(align - 1);
        if (base >= gap_start) return base;
      }
      if (it == taken_.rend()) return std::nullopt;
      gap_end = std::min(gap_end, it->first);
      if (gap_end <= lo) return std::nullopt;
    }
  }

 private:
  std::vector<std::pair<uint64_t, uint64_t>> taken_;
};

}  // namespace

Result<std::vector<ReservedRegion>> PlaceReservedMemory(const Board& board,
                                                        std::vector<std::string>* log) {
  const uint64_t ram_end = board.ram_base + board.ram_bytes;
  const std::string& src = board.source;
  std::vector<ReservedRegion> placed;
  Occupied taken;
  auto Note = [&](const ReservedRegion& r) {
    log->push_back(Format("OF: reserved mem: 0x%016" PRIx64 "..0x%016" PRIx64 " (%" PRIu64
                          " KiB) %s %s %s",
                          r.base, r.end() - 1, r.size >> 10, r.no_map ? "nomap" : "map",
                          r.reusable ? "reusable" : "non-reusable", r.name.c_str()));
    if (r.IsCma()) {
      log->push_back(Format("Reserved memory: created CMA memory pool at 0x%016" PRIx64
                            ", size %" PRIu64 " MiB",
                            r.base, r.size >> 20));
    }
  };
  // A DT default CMA node gives way to cma= (of_reserved_mem's check, with its message).
  auto Skipped = [&](const ReservedRegion& r) {
    if (!(board.cma && r.cma_default)) return false;
    std::fprintf(stderr,
                 "OF: reserved mem: Skipping dt linux,cma-default node in favor for "
                 "\"cma=\" kernel param.\n");
    return true;
  };
  for (const ReservedRegion& r : board.regions) {
    if (!r.fixed || Skipped(r)) continue;
    if (r.base < board.ram_base || r.end() > ram_end || r.end() < r.base) {
      return Refuse(EINVAL, src,
                    "reserved-memory node '%s' [0x%" PRIx64 "-0x%" PRIx64
                    ") is outside RAM [0x%" PRIx64 "-0x%" PRIx64 ")",
                    r.name.c_str(), r.base, r.end(), board.ram_base, ram_end);
    }
    for (const ReservedRegion& other : placed) {
      if (other.base < r.end() && r.base < other.end()) {
        return Refuse(EINVAL, src, "reserved-memory nodes '%s' and '%s' overlap",
                      other.name.c_str(), r.name.c_str());
      }
    }
    taken.Add(r.base, r.end());
    placed.push_back(r);
    Note(r);
  }
  for (const ReservedRegion& r : board.regions) {
    if (r.fixed || Skipped(r)) continue;
    uint64_t align = std::max<uint64_t>(r.alignment, sys::kPageSize);
    if (r.IsCma()) align = std::max(align, kCmaMinAlignment);
    if (r.IsCma() && r.size % kCmaMinAlignment != 0) {
      return Refuse(EINVAL, src,
                    "Reserved memory: incorrect alignment of CMA region '%s' "
                    "(size must be a multiple of 2 MiB)",
                    r.name.c_str());
    }
    std::vector<ReservedRegion::Range> ranges = r.alloc_ranges;
    if (ranges.empty()) ranges.push_back({board.ram_base, board.ram_bytes});
    std::optional<uint64_t> base;
    for (const ReservedRegion::Range& range : ranges) {
      const uint64_t lo = std::max(range.base, board.ram_base);
      const uint64_t hi = std::min(range.base + range.size, ram_end);
      if (lo < hi && (base = taken.TopDown(r.size, align, lo, hi))) break;
    }
    if (!base) {
      return Refuse(ENOMEM, src,
                    "Reserved memory: failed to allocate memory for node '%s': "
                    "size %" PRIu64 " MiB",
                    r.name.c_str(), r.size >> 20);
    }
    ReservedRegion p = r;
    p.base = *base;
    taken.Add(p.base, p.end());
    placed.push_back(p);
    Note(p);
  }
  if (board.cma && board.cma->size != 0) {
    // cma_declare_contiguous_nid: pageblock alignment, a fixed placement must not be reserved.
    const CmaCmdline& c = *board.cma;
    const bool fixed = c.base != 0 && c.limit == c.base + c.size;
    if (fixed && c.base % kCmaMinAlignment != 0) {
      return Refuse(EINVAL, src,
                    "cma: Region at 0x%016" PRIx64
                    " must be aligned to "
                    "0x%016" PRIx64 " bytes",
                    c.base, kCmaMinAlignment);
    }
    ReservedRegion r;
    r.name = "reserved";
    r.compatible = "shared-dma-pool";
    r.reusable = true;
    r.cma_default = true;
    r.fixed = fixed;
    r.size = (c.size + kCmaMinAlignment - 1) & ~(kCmaMinAlignment - 1);
    uint64_t lo = (c.base + kCmaMinAlignment - 1) & ~(kCmaMinAlignment - 1);
    // arm64 passes its DMA32 limit to dma_contiguous_reserve; cma=…-end narrows it.
    uint64_t limit = board.ram_base < kFourGiB ? std::min(ram_end, kFourGiB) : ram_end;
    if (c.limit != 0) limit = std::min(limit, c.limit & ~(kCmaMinAlignment - 1));
    lo = std::max(lo, board.ram_base);
    if (fixed) {
      r.base = c.base;
      const auto* o = taken.Overlap(r.base, r.end());
      if (r.end() > ram_end || r.base < board.ram_base || o != nullptr) {
        return Refuse(EBUSY, src, "cma: Failed to reserve %" PRIu64 " MiB at 0x%016" PRIx64 ": %s",
                      r.size >> 20, r.base, o ? "already reserved" : "outside RAM");
      }
    } else {
      std::optional<uint64_t> base;
      if (lo < limit) base = taken.TopDown(r.size, kCmaMinAlignment, lo, limit);
      if (!base) {
        return Refuse(ENOMEM, src,
                      "cma: Failed to reserve %" PRIu64 " MiB (bootargs \"%s\")",
                      r.size >> 20, board.bootargs.c_str());
      }
      r.base = *base;
    }
    taken.Add(r.base, r.end());
    placed.push_back(r);
    log->push_back(Format("cma: Reserved %" PRIu64 " MiB at 0x%016" PRIx64, r.size >> 20, r.base));
  }
  return placed;
}

Result<SwiotlbConfig> PlaceSwiotlb(const Board& board, const std::vector<ReservedRegion>& placed,
                                   std::vector<std::string>* log) {
  SwiotlbConfig config;
  const uint64_t ram_end = board.ram_base + board.ram_bytes;
  // arm64: the DMA zone ends at 4 GiB when RAM starts below it (else it spans all RAM), and a
  // pool is needed when RAM reaches past the zone.
  const uint64_t zone_end = board.ram_base < kFourGiB ? std::min(ram_end, kFourGiB) : ram_end;
  const bool needed = ram_end > zone_end || board.swiotlb.force;
  if (!needed || board.swiotlb.noforce) return config;
  const uint64_t bytes =
      board.swiotlb.nslabs != 0 ? board.swiotlb.nslabs * Swiotlb::kSlotSize : Swiotlb::kDefaultBytes;
  Occupied taken;
  for (const ReservedRegion& r : placed) taken.Add(r.base, r.end());
  const std::optional<uint64_t> base =
      taken.TopDown(bytes, sys::kPageSize, board.ram_base, zone_end);
  if (!base) {
    // swiotlb_init_remap: the kernel warns and runs without a pool.
    log->push_back(Format("software IO TLB: Cannot allocate buffer"));
    return config;
  }
  config.base = *base;
  config.bytes = bytes;
  config.force = board.swiotlb.force;
  log->push_back(Format("software IO TLB: mapped [mem 0x%016" PRIx64 "-0x%016" PRIx64
                        "] (%" PRIu64 "MB)",
                        config.base, config.base + bytes - 1, bytes >> 20));
  return config;
}

std::string DescribeBoard(const Board& board, const std::vector<ReservedRegion>& placed,
                          const std::vector<std::string>& log) {
  std::string out;
  out += Format("board:      %s\n", board.source.c_str());
  if (!board.model.empty()) out += Format("model:      %s\n", board.model.c_str());
  if (!board.compatible.empty()) out += Format("compatible: %s\n", board.compatible.c_str());
  out += Format("memory:     0x%016" PRIx64 "-0x%016" PRIx64 " (%" PRIu64 " MiB)\n", board.ram_base,
                board.ram_base + board.ram_bytes - 1, board.ram_bytes >> 20);
  if (!board.bootargs.empty()) out += Format("bootargs:   %s\n", board.bootargs.c_str());
  out += "reserved-memory:\n";
  if (placed.empty()) out += "  (none)\n";
  for (const ReservedRegion& r : placed) {
    std::string what = r.IsCma() ? "cma" : r.no_map ? "no-map" : "reserved";
    if (r.cma_default) what += ",default";
    if (r.heap) what += ",heap";
    out += Format("  %-24s 0x%016" PRIx64 "-0x%016" PRIx64 " %8" PRIu64 " KiB  %s%s%s\n",
                  r.name.c_str(), r.base, r.end() - 1, r.size >> 10, what.c_str(),
                  r.compatible.empty() ? "" : "  ", r.compatible.c_str());
  }
  if (!board.devices.empty()) out += "devices:\n";
  for (const BoardDevice& d : board.devices) {
    out += Format("  %-28s %s\n", d.path.c_str(), DeviceConstraints(d).c_str());
  }
  out += "modules.load:";
  if (board.modules_load.empty())
    out += " (no modules.load beside the board)";
  else if (board.modules.empty())
    out += " (none)";
  for (const std::string& m : board.modules) out += " " + m;
  out += "\n";
  for (const std::string& line : log) out += "log: " + line + "\n";
  return out;
}

}  // namespace dmaheap
