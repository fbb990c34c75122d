#include "board/board.h"

#include <libfdt.h>
#include <unistd.h>

#include <algorithm>
#include <cinttypes>
#include <cstdarg>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iterator>
#include <sstream>

#include "base/check.h"
#include "platform/search_path.h"
#include "platform/sys.h"

namespace dmaheap {
namespace {

constexpr uint64_t kFourGiB = uint64_t{1} << 32;

// Prints "dmaheap: board SOURCE: <message>" and returns `err`.
__attribute__((format(printf, 3, 4))) Error Refuse(int err, const std::string& source,
                                                   const char* fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  std::fprintf(stderr, "dmaheap: board %s: %s\n", source.c_str(), msg);
  return Errno(err);
}

std::string Format(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
std::string Format(const char* fmt, ...) {
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(buf, sizeof(buf), fmt, ap);
  va_end(ap);
  return buf;
}

// A device tree being read: the blob, its root cell sizes and its name for messages.
struct Fdt {
  const void* blob;
  const std::string& source;
  int address_cells;
  int size_cells;

  const void* Prop(int node, const char* name, int* len) const {
    return fdt_getprop(blob, node, name, len);
  }
  bool Has(int node, const char* name) const { return Prop(node, name, nullptr) != nullptr; }
  std::string String(int node, const char* name) const {
    int len = 0;
    const char* s = static_cast<const char*>(Prop(node, name, &len));
    if (s == nullptr || len <= 0) return {};
    return std::string(s, strnlen(s, static_cast<size_t>(len)));
  }
  std::string Name(int node) const {
    const char* n = fdt_get_name(blob, node, nullptr);
    return n != nullptr ? n : "?";
  }
  std::string Path(int node) const {
    char buf[256];
    return fdt_get_path(blob, node, buf, sizeof(buf)) == 0 ? buf : Name(node);
  }
  bool Available(int node) const {
    const std::string status = String(node, "status");
    return status.empty() || status == "okay" || status == "ok";
  }
};

uint64_t ReadCells(const fdt32_t* cells, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; ++i) v = (v << 32) | fdt32_to_cpu(cells[i]);
  return v;
}

// A property of exactly `cells` cells (one number); EINVAL naming it otherwise.
Result<std::optional<uint64_t>> ReadNumber(const Fdt& fdt, int node, const char* prop,
                                           int cells) {
  int len = 0;
  const auto* p = static_cast<const fdt32_t*>(fdt.Prop(node, prop, &len));
  if (p == nullptr) return std::optional<uint64_t>();
  if (cells < 1 || cells > 2 || len != cells * 4) {
    return Refuse(EINVAL, fdt.source, "invalid %s property in '%s' node (%d bytes, expected %d)",
                  prop, fdt.Path(node).c_str(), len, cells * 4);
  }
  return std::optional<uint64_t>(ReadCells(p, cells));
}

// A list of (address, size) pairs in the root's cell sizes.
Result<std::vector<ReservedRegion::Range>> ReadRanges(const Fdt& fdt, int node, const char* prop) {
  std::vector<ReservedRegion::Range> out;
  int len = 0;
  const auto* p = static_cast<const fdt32_t*>(fdt.Prop(node, prop, &len));
  if (p == nullptr) return out;
  const int entry = fdt.address_cells + fdt.size_cells;
  if (len <= 0 || len % (entry * 4) != 0) {
    return Refuse(EINVAL, fdt.source, "invalid %s property in '%s' node (%d bytes, not a multiple "
                  "of %d)", prop, fdt.Path(node).c_str(), len, entry * 4);
  }
  for (int i = 0; i < len / 4; i += entry) {
    out.push_back({ReadCells(p + i, fdt.address_cells),
                   ReadCells(p + i + fdt.address_cells, fdt.size_cells)});
  }
  return out;
}

Result<void> ReadMemory(const Fdt& fdt, Board& board) {
  int banks = 0;
  for (int node = fdt_first_subnode(fdt.blob, 0); node >= 0;
       node = fdt_next_subnode(fdt.blob, node)) {
    if (fdt.String(node, "device_type") != "memory" || !fdt.Available(node)) continue;
    std::vector<ReservedRegion::Range> reg = TRY(ReadRanges(fdt, node, "reg"));
    banks += static_cast<int>(reg.size());
    if (reg.size() != 1 || banks > 1) {
      return Refuse(EINVAL, fdt.source, "%s: one memory bank is modelled, found more",
                    fdt.Path(node).c_str());
    }
    board.ram_base = reg[0].base;
    board.ram_bytes = reg[0].size;
  }
  if (banks == 0) return Refuse(EINVAL, fdt.source, "no /memory node with a reg property");
  if (board.ram_bytes == 0 || (board.ram_base | board.ram_bytes) % sys::kPageSize != 0 ||
      board.ram_base + board.ram_bytes < board.ram_base) {
    return Refuse(EINVAL, fdt.source, "/memory: RAM 0x%" PRIx64 " + 0x%" PRIx64
                  " is not a non-empty range of whole pages", board.ram_base, board.ram_bytes);
  }
  return {};
}

Result<ReservedRegion> ReadRegion(const Fdt& fdt, int node) {
  ReservedRegion r;
  r.name = fdt.Name(node);
  r.compatible = fdt.String(node, "compatible");
  r.reusable = fdt.Has(node, "reusable");
  r.no_map = fdt.Has(node, "no-map");
  r.cma_default = fdt.Has(node, "linux,cma-default");
  r.heap = fdt.Has(node, "dmaheap,heap");
  const char* name = r.name.c_str();
  std::vector<ReservedRegion::Range> reg = TRY(ReadRanges(fdt, node, "reg"));
  if (reg.size() > 1) {
    return Refuse(EINVAL, fdt.source, "reserved-memory node '%s': one reg entry is modelled, "
                  "found %zu", name, reg.size());
  }
  if (reg.size() == 1) {
    r.fixed = true;
    r.base = reg[0].base;
    r.size = reg[0].size;
  } else {
    std::optional<uint64_t> size = TRY(ReadNumber(fdt, node, "size", fdt.size_cells));
    if (!size) {
      return Refuse(EINVAL, fdt.source, "reserved-memory node '%s' has neither reg nor size",
                    name);
    }
    r.size = *size;
    r.alignment = TRY(ReadNumber(fdt, node, "alignment", fdt.address_cells)).value_or(0);
    r.alloc_ranges = TRY(ReadRanges(fdt, node, "alloc-ranges"));
    if (r.alignment != 0 && (r.alignment & (r.alignment - 1)) != 0) {
      return Refuse(EINVAL, fdt.source, "reserved-memory node '%s': alignment 0x%" PRIx64
                    " is not a power of two", name, r.alignment);
    }
  }
  if (r.size == 0 || r.size % sys::kPageSize != 0 || r.base % sys::kPageSize != 0) {
    return Refuse(EINVAL, fdt.source, "reserved-memory node '%s': base 0x%" PRIx64 " size 0x%"
                  PRIx64 " is not a non-empty range of whole pages", name, r.base, r.size);
  }
  if (r.reusable && r.no_map) {
    return Refuse(EINVAL, fdt.source, "reserved-memory node '%s' is both reusable and no-map",
                  name);
  }
  if (r.cma_default && !r.IsCma()) {
    return Refuse(EINVAL, fdt.source, "reserved-memory node '%s' has linux,cma-default but is "
                  "not a reusable shared-dma-pool", name);
  }
  if (r.heap && !r.IsCma() && !(r.no_map && r.fixed)) {
    return Refuse(EINVAL, fdt.source, "reserved-memory node '%s' has dmaheap,heap but is neither "
                  "a reusable shared-dma-pool nor a no-map region with a reg", name);
  }
  if (r.IsCma() && r.fixed && (r.base | r.size) % kCmaMinAlignment != 0) {
    return Refuse(EINVAL, fdt.source, "Reserved memory: incorrect alignment of CMA region '%s' "
                  "(base and size must be multiples of 2 MiB)", name);
  }
  return r;
}

Result<void> ReadReservedMemory(const Fdt& fdt, Board& board) {
  const int parent = fdt_path_offset(fdt.blob, "/reserved-memory");
  if (parent < 0) return {};
  if (fdt_address_cells(fdt.blob, parent) != fdt.address_cells ||
      fdt_size_cells(fdt.blob, parent) != fdt.size_cells) {
    return Refuse(EINVAL, fdt.source, "reserved-memory: root #size-cells and #address-cells "
                  "must match");
  }
  std::string default_node;  // the linux,cma-default node seen so far
  for (int node = fdt_first_subnode(fdt.blob, parent); node >= 0;
       node = fdt_next_subnode(fdt.blob, node)) {
    if (!fdt.Available(node)) continue;
    board.regions.push_back(TRY(ReadRegion(fdt, node)));
    const ReservedRegion& r = board.regions.back();
    if (!r.cma_default) continue;
    if (!default_node.empty()) {
      return Refuse(EINVAL, fdt.source, "reserved-memory nodes '%s' and '%s' are both "
                    "linux,cma-default", default_node.c_str(), r.name.c_str());
    }
    default_node = r.name;
  }
  return {};
}

Result<void> ReadChosen(const Fdt& fdt, Board& board) {
  const int chosen = fdt_path_offset(fdt.blob, "/chosen");
  if (chosen < 0) return {};
  board.bootargs = fdt.String(chosen, "bootargs");
  std::istringstream words(board.bootargs);
  for (std::string word; words >> word;) {
    if (word.rfind("cma=", 0) != 0) continue;  // not ours; the kernel has many
    Result<CmaCmdline> cma = ParseCmaArgument(std::string_view(word).substr(4));
    if (!cma.ok()) return Refuse(EINVAL, fdt.source, "/chosen/bootargs: bad %s", word.c_str());
    board.cma = *cma;  // early_param: the last one wins
  }
  return {};
}

Result<void> ReadDevices(const Fdt& fdt, Board& board) {
  for (int node = fdt_next_node(fdt.blob, -1, nullptr); node >= 0;
       node = fdt_next_node(fdt.blob, node, nullptr)) {
    int len = 0;
    const auto* regions = static_cast<const fdt32_t*>(fdt.Prop(node, "memory-region", &len));
    const bool iommu = fdt.Has(node, "iommus");
    std::optional<uint64_t> bits = TRY(ReadNumber(fdt, node, "dmaheap,dma-bits", 1));
    if (regions == nullptr && !iommu && !bits) continue;
    BoardDevice dev;
    dev.path = fdt.Path(node);
    dev.compatible = fdt.String(node, "compatible");
    dev.iommu = iommu;
    dev.dma_bits = static_cast<uint32_t>(bits.value_or(0));
    for (int i = 0; regions != nullptr && i < len / 4; ++i) {
      const int target = fdt_node_offset_by_phandle(fdt.blob, fdt32_to_cpu(regions[i]));
      if (target < 0) {
        return Refuse(EINVAL, fdt.source, "%s: memory-region phandle %u names no node",
                      dev.path.c_str(), fdt32_to_cpu(regions[i]));
      }
      dev.memory_region.push_back(fdt.Name(target));
    }
    board.devices.push_back(std::move(dev));
  }
  return {};
}

Result<std::vector<std::string>> ReadModulesLoad(const std::string& path) {
  std::vector<std::string> out;
  std::ifstream in(path);
  if (!in) return out;  // no modules.load: no modules
  for (std::string line; std::getline(in, line);) {
    line.erase(std::find(line.begin(), line.end(), '#'), line.end());
    std::istringstream words(line);
    std::string name;
    if (!(words >> name)) continue;
    std::string extra;
    if (words >> extra) {
      return Refuse(EINVAL, path, "modules.load line \"%s\": one module name per line",
                    line.c_str());
    }
    out.push_back(name);
  }
  return out;
}

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

Result<Board> ParseBoardBlob(std::span<const uint8_t> blob, const std::string& source) {
  if (blob.size() < sizeof(fdt_header)) {
    return Refuse(EINVAL, source, "not a device tree blob (%zu bytes)", blob.size());
  }
  const int check = fdt_check_full(blob.data(), blob.size());
  if (check != 0) {
    return Refuse(EINVAL, source, "malformed device tree blob: %s", fdt_strerror(check));
  }
  Board board;
  board.source = source;
  const Fdt fdt{blob.data(), board.source, fdt_address_cells(blob.data(), 0),
                fdt_size_cells(blob.data(), 0)};
  if (fdt.address_cells < 1 || fdt.address_cells > 2 || fdt.size_cells < 1 ||
      fdt.size_cells > 2) {
    return Refuse(EINVAL, source, "root #address-cells %d / #size-cells %d: 1 or 2 expected",
                  fdt.address_cells, fdt.size_cells);
  }
  board.model = fdt.String(0, "model");
  board.compatible = fdt.String(0, "compatible");
  TRY(ReadMemory(fdt, board));
  TRY(ReadReservedMemory(fdt, board));
  TRY(ReadChosen(fdt, board));
  TRY(ReadDevices(fdt, board));
  return board;
}

std::vector<std::string> BoardPath() {
  return SearchPath("DMAHEAP_BOARD_PATH", "dmaheap/boards");
}

Result<Board> LoadBoard(const std::string& name_or_path) {
  std::string path = name_or_path;
  const bool is_path = name_or_path.find('/') != std::string::npos ||
                       (name_or_path.size() > 4 &&
                        name_or_path.compare(name_or_path.size() - 4, 4, ".dtb") == 0);
  if (!is_path) {
    path = name_or_path.empty() ? "" : FindInPath(BoardPath(), name_or_path + ".dtb");
    if (path.empty()) {
      std::string dirs;
      for (const std::string& d : BoardPath()) dirs += (dirs.empty() ? "" : ":") + d;
      return Refuse(ENOENT, name_or_path, "not found (looked for %s.dtb in %s)",
                    name_or_path.c_str(), dirs.c_str());
    }
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return Refuse(ENOENT, path, "%s", std::strerror(errno));
  std::vector<uint8_t> blob((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  Board board = TRY(ParseBoardBlob(blob, path));
  std::string stem = path;
  if (stem.size() > 4 && stem.compare(stem.size() - 4, 4, ".dtb") == 0) stem.resize(stem.size() - 4);
  board.modules_load = stem + ".modules.load";
  if (::access(board.modules_load.c_str(), F_OK) != 0) board.modules_load.clear();
  board.modules = TRY(ReadModulesLoad(stem + ".modules.load"));
  return board;
}

Result<std::vector<ReservedRegion>> PlaceReservedMemory(const Board& board,
                                                        std::vector<std::string>* log) {
  const uint64_t ram_end = board.ram_base + board.ram_bytes;
  const std::string& src = board.source;
  std::vector<ReservedRegion> placed;
  Occupied taken;
  auto Note = [&](const ReservedRegion& r) {
    log->push_back(Format("OF: reserved mem: 0x%016" PRIx64 "..0x%016" PRIx64 " (%" PRIu64
                          " KiB) %s %s %s", r.base, r.end() - 1, r.size >> 10,
                          r.no_map ? "nomap" : "map", r.reusable ? "reusable" : "non-reusable",
                          r.name.c_str()));
    if (r.IsCma()) {
      log->push_back(Format("Reserved memory: created CMA memory pool at 0x%016" PRIx64
                            ", size %" PRIu64 " MiB", r.base, r.size >> 20));
    }
  };
  // A DT default CMA node gives way to cma= (of_reserved_mem's check, with its message).
  auto Skipped = [&](const ReservedRegion& r) {
    if (!(board.cma && r.cma_default)) return false;
    std::fprintf(stderr, "OF: reserved mem: Skipping dt linux,cma-default node in favor for "
                 "\"cma=\" kernel param.\n");
    return true;
  };
  for (const ReservedRegion& r : board.regions) {
    if (!r.fixed || Skipped(r)) continue;
    if (r.base < board.ram_base || r.end() > ram_end || r.end() < r.base) {
      return Refuse(EINVAL, src, "reserved-memory node '%s' [0x%" PRIx64 "-0x%" PRIx64
                    ") is outside RAM [0x%" PRIx64 "-0x%" PRIx64 ")", r.name.c_str(), r.base,
                    r.end(), board.ram_base, ram_end);
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
      return Refuse(EINVAL, src, "Reserved memory: incorrect alignment of CMA region '%s' "
                    "(size must be a multiple of 2 MiB)", r.name.c_str());
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
      return Refuse(ENOMEM, src, "Reserved memory: failed to allocate memory for node '%s': "
                    "size %" PRIu64 " MiB", r.name.c_str(), r.size >> 20);
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
      return Refuse(EINVAL, src, "cma: Region at 0x%016" PRIx64 " must be aligned to "
                    "0x%016" PRIx64 " bytes", c.base, kCmaMinAlignment);
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
        return Refuse(EBUSY, src, "cma: Failed to reserve %" PRIu64 " MiB at 0x%016" PRIx64
                      ": %s", r.size >> 20, r.base, o ? "already reserved" : "outside RAM");
      }
    } else {
      std::optional<uint64_t> base;
      if (lo < limit) base = taken.TopDown(r.size, kCmaMinAlignment, lo, limit);
      if (!base) {
        return Refuse(ENOMEM, src, "cma: Failed to reserve %" PRIu64 " MiB (cma=%s" ")",
                      r.size >> 20, board.bootargs.c_str());
      }
      r.base = *base;
    }
    taken.Add(r.base, r.end());
    placed.push_back(r);
    log->push_back(Format("cma: Reserved %" PRIu64 " MiB at 0x%016" PRIx64, r.size >> 20,
                          r.base));
  }
  return placed;
}

std::string DescribeBoard(const Board& board, const std::vector<ReservedRegion>& placed,
                          const std::vector<std::string>& log) {
  std::string out;
  out += Format("board:      %s\n", board.source.c_str());
  if (!board.model.empty()) out += Format("model:      %s\n", board.model.c_str());
  if (!board.compatible.empty()) out += Format("compatible: %s\n", board.compatible.c_str());
  out += Format("memory:     0x%016" PRIx64 "-0x%016" PRIx64 " (%" PRIu64 " MiB)\n",
                board.ram_base, board.ram_base + board.ram_bytes - 1, board.ram_bytes >> 20);
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
    std::string regions;
    for (const std::string& m : d.memory_region) regions += (regions.empty() ? "" : ",") + m;
    out += Format("  %s%s%s%s%s\n", d.path.c_str(),
                  d.compatible.empty() ? "" : ("  " + d.compatible).c_str(),
                  regions.empty() ? "" : ("  memory-region=" + regions).c_str(),
                  d.iommu ? "  iommu" : "  no-iommu",
                  d.dma_bits != 0 ? Format("  dma-bits=%u", d.dma_bits).c_str() : "");
  }
  out += "modules.load:";
  if (board.modules_load.empty()) out += " (no modules.load beside the board)";
  else if (board.modules.empty()) out += " (none)";
  for (const std::string& m : board.modules) out += " " + m;
  out += "\n";
  for (const std::string& line : log) out += "log: " + line + "\n";
  return out;
}

}  // namespace dmaheap
