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
#include "board/board_text.h"
#include "platform/search_path.h"
#include "platform/sys.h"

namespace dmaheap {

Error Refuse(int err, const std::string& source, const char* fmt, ...) {
  char msg[512];
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  std::fprintf(stderr, "dmaheap: board %s: %s\n", source.c_str(), msg);
  return Errno(err);
}

std::string Format(const char* fmt, ...) {
  char buf[512];
  va_list ap;
  va_start(ap, fmt);
  std::vsnprintf(buf, sizeof(buf), fmt, ap);
  va_end(ap);
  return buf;
}

namespace {

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

// setup_io_tlb_npages: `swiotlb=[nslabs][,nareas][,force|noforce]`; nslabs rounded up to whole
// 128-slot segments.
Result<void> ParseSwiotlb(const std::string& source, const std::string& word,
                          SwiotlbCmdline& out) {
  std::string_view rest = std::string_view(word).substr(8);
  auto bad = [&] { return Refuse(EINVAL, source, "/chosen/bootargs: bad %s", word.c_str()); };
  if (!rest.empty() && rest[0] >= '0' && rest[0] <= '9') {
    uint64_t n = 0;
    size_t i = 0;
    for (; i < rest.size() && rest[i] >= '0' && rest[i] <= '9'; ++i) {
      if (n > (uint64_t{1} << 40)) return bad();
      n = n * 10 + static_cast<uint64_t>(rest[i] - '0');
    }
    out.nslabs = (n + Swiotlb::kSegmentSlots - 1) / Swiotlb::kSegmentSlots * Swiotlb::kSegmentSlots;
    rest.remove_prefix(i);
    if (!rest.empty() && rest[0] == ',') rest.remove_prefix(1);
    // the area count: parsed by the kernel, not modelled (one area)
    while (!rest.empty() && rest[0] >= '0' && rest[0] <= '9') rest.remove_prefix(1);
    if (!rest.empty() && rest[0] == ',') rest.remove_prefix(1);
  }
  // Anything else after the numbers is ignored, as the kernel ignores it.
  if (rest == "force") out.force = true;
  if (rest == "noforce") out.noforce = true;
  return {};
}

Result<void> ReadChosen(const Fdt& fdt, Board& board) {
  const int chosen = fdt_path_offset(fdt.blob, "/chosen");
  if (chosen < 0) return {};
  return ParseBootargs(fdt.String(chosen, "bootargs"), fdt.source, board);
}

// The parent bus's `dma-ranges` (one entry): offset and limit. An empty property is 1:1.
Result<void> ReadDmaRanges(const Fdt& fdt, int node, BoardDevice& dev) {
  const int bus = fdt_parent_offset(fdt.blob, node);
  if (bus < 0) return {};
  int len = 0;
  const auto* p = static_cast<const fdt32_t*>(fdt.Prop(bus, "dma-ranges", &len));
  if (p == nullptr) return {};
  dev.has_dma_ranges = true;
  if (len == 0) return {};  // `dma-ranges;`: bus addresses are CPU addresses, no limit
  const int up = fdt_parent_offset(fdt.blob, bus);
  const int child_cells = fdt_address_cells(fdt.blob, bus);
  const int parent_cells = up >= 0 ? fdt_address_cells(fdt.blob, up) : fdt.address_cells;
  const int size_cells = fdt_size_cells(fdt.blob, bus);
  const int entry = child_cells + parent_cells + size_cells;
  if (child_cells < 1 || child_cells > 2 || parent_cells < 1 || parent_cells > 2 ||
      size_cells < 1 || size_cells > 2 || len != entry * 4) {
    return Refuse(EINVAL, fdt.source,
                  "%s: dma-ranges of '%s' must be one <child-address parent-address size> "
                  "entry (%d bytes, expected %d)",
                  dev.path.c_str(), fdt.Path(bus).c_str(), len, entry * 4);
  }
  const uint64_t child = ReadCells(p, child_cells);
  const uint64_t parent = ReadCells(p + child_cells, parent_cells);
  const uint64_t size = ReadCells(p + child_cells + parent_cells, size_cells);
  if (size == 0 || child + size - 1 < child) {
    return Refuse(EINVAL, fdt.source, "%s: dma-ranges of '%s' has an empty or wrapping range",
                  dev.path.c_str(), fdt.Path(bus).c_str());
  }
  dev.translated = true;
  dev.bus_start = child;
  dev.cpu_start = parent;  // the parent bus's address is taken as the CPU's (no `ranges` walk)
  dev.bus_limit = child + size - 1;
  return {};
}

Result<void> ReadIommu(const Fdt& fdt, int node, BoardDevice& dev) {
  int len = 0;
  const auto* p = static_cast<const fdt32_t*>(fdt.Prop(node, "iommus", &len));
  if (p == nullptr) return {};
  if (len < 4) return Refuse(EINVAL, fdt.source, "%s: empty iommus", dev.path.c_str());
  const int iommu = fdt_node_offset_by_phandle(fdt.blob, fdt32_to_cpu(p[0]));
  if (iommu < 0) {
    return Refuse(EINVAL, fdt.source, "%s: iommus phandle %u names no node", dev.path.c_str(),
                  fdt32_to_cpu(p[0]));
  }
  dev.iommu = true;
  dev.iommu_node = fdt.Name(iommu);
  const std::optional<uint64_t> bits = TRY(ReadNumber(fdt, iommu, "dmaheap,iova-bits", 1));
  if (bits && (*bits < 20 || *bits > 64)) {
    return Refuse(EINVAL, fdt.source, "%s: dmaheap,iova-bits %llu: 20 to 64 expected",
                  fdt.Path(iommu).c_str(), static_cast<unsigned long long>(*bits));
  }
  dev.iova_bits = static_cast<uint32_t>(bits.value_or(32));
  return {};
}

Result<void> ReadDevices(const Fdt& fdt, Board& board) {
  for (int node = fdt_next_node(fdt.blob, -1, nullptr); node >= 0;
       node = fdt_next_node(fdt.blob, node, nullptr)) {
    if (!fdt.Available(node)) continue;
    int len = 0;
    const auto* regions = static_cast<const fdt32_t*>(fdt.Prop(node, "memory-region", &len));
    const std::optional<uint64_t> bits = TRY(ReadNumber(fdt, node, "dmaheap,dma-bits", 1));
    const std::string compatible = fdt.String(node, "compatible");
    const bool vgem = compatible == "dmaheap,vgem";
    const std::optional<uint64_t> seg = TRY(ReadNumber(fdt, node, "dmaheap,max-segment-size", 1));
    const std::optional<uint64_t> mask = TRY(ReadNumber(fdt, node, "dmaheap,dma-mask", 2));
    if (regions == nullptr && !fdt.Has(node, "iommus") && !bits && !vgem && !seg && !mask &&
        !fdt.Has(node, "dma-coherent") && !fdt.Has(node, "dmaheap,dma-contiguous")) {
      continue;
    }
    BoardDevice dev;
    dev.name = fdt.Name(node);
    dev.path = fdt.Path(node);
    dev.compatible = compatible;
    dev.vgem = vgem;
    dev.coherent = fdt.Has(node, "dma-coherent");
    dev.needs_contiguous = fdt.Has(node, "dmaheap,dma-contiguous");
    if (bits && (*bits < 24 || *bits > 64)) {
      return Refuse(EINVAL, fdt.source, "%s: dmaheap,dma-bits %llu: 24 to 64 expected",
                    dev.path.c_str(), static_cast<unsigned long long>(*bits));
    }
    dev.dma_bits = static_cast<uint32_t>(bits.value_or(32));
    dev.dma_bits_declared = bits.has_value();
    if (seg && (*seg < 4096 || *seg > UINT32_MAX)) {
      return Refuse(EINVAL, fdt.source, "%s: dmaheap,max-segment-size %llu: 4096 to %u expected",
                    dev.path.c_str(), static_cast<unsigned long long>(*seg), UINT32_MAX);
    }
    dev.max_seg_size = seg.value_or(dev.max_seg_size);
    if (mask && *mask < 0xffffff) {
      return Refuse(EINVAL, fdt.source, "%s: dmaheap,dma-mask 0x%llx: at least 24 bits expected",
                    dev.path.c_str(), static_cast<unsigned long long>(*mask));
    }
    dev.dma_mask = mask.value_or(0);
    TRY(ReadIommu(fdt, node, dev));
    TRY(ReadDmaRanges(fdt, node, dev));
    for (int i = 0; regions != nullptr && i < len / 4; ++i) {
      const int target = fdt_node_offset_by_phandle(fdt.blob, fdt32_to_cpu(regions[i]));
      if (target < 0) {
        return Refuse(EINVAL, fdt.source, "%s: memory-region phandle %u names no node",
                      dev.path.c_str(), fdt32_to_cpu(regions[i]));
      }
      dev.memory_region.push_back(fdt.Name(target));
    }
    for (const BoardDevice& other : board.devices) {
      if (other.name == dev.name) {
        return Refuse(EINVAL, fdt.source, "devices %s and %s have the same name '%s'",
                      other.path.c_str(), dev.path.c_str(), dev.name.c_str());
      }
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

}  // namespace

namespace {

// libfdt 1.6's tag walk trusts a property's length: one that wraps the next offset back onto the
// tag itself makes fdt_check_full, and every walk after it, loop forever (found by
// fuzz/board_fuzz). The tags are walked once here first, and a tag that does not move the walk
// forward is refused; a premature end is left for fdt_check_full to name.
Result<void> CheckTagsAdvance(const void* blob, const std::string& source) {
  for (int offset = 0;;) {
    int next = 0;
    if (fdt_next_tag(blob, offset, &next) == FDT_END || next < 0) return {};
    if (next <= offset) {
      return Refuse(EINVAL, source,
                    "malformed device tree blob: the tag at structure offset %d does not advance",
                    offset);
    }
    offset = next;
  }
}

}  // namespace

Result<void> ParseBootargs(const std::string& bootargs, const std::string& source, Board& board) {
  board.bootargs = bootargs;
  std::istringstream words(board.bootargs);
  for (std::string word; words >> word;) {
    if (word.rfind("swiotlb=", 0) == 0) {
      TRY(ParseSwiotlb(source, word, board.swiotlb));
      continue;
    }
    if (word.rfind("cma=", 0) != 0) continue;  // not ours; the kernel has many
    Result<CmaCmdline> cma = ParseCmaArgument(std::string_view(word).substr(4));
    if (!cma.ok()) return Refuse(EINVAL, source, "/chosen/bootargs: bad %s", word.c_str());
    board.cma = *cma;  // early_param: the last one wins
  }
  return {};
}

Result<Board> ParseBoardBlob(std::span<const uint8_t> blob, const std::string& source) {
  if (blob.size() < sizeof(fdt_header)) {
    return Refuse(EINVAL, source, "not a device tree blob (%zu bytes)", blob.size());
  }
  // Before the full check: libfdt 1.6's fdt_check_full dereferences NULL on a blob older than
  // version 16 (found by fuzz/board_fuzz); dtc has written version 17 since 2007.
  if (const int header = fdt_check_header(blob.data()); header != 0) {
    return Refuse(EINVAL, source, "malformed device tree blob: %s", fdt_strerror(header));
  }
  if (fdt_version(blob.data()) < 16) {
    return Refuse(EINVAL, source, "device tree blob version %u: 16 or later expected",
                  fdt_version(blob.data()));
  }
  // The header's sizes are checked against its own total size only: the walk below needs the
  // whole blob in the buffer first (a header claiming more than the file holds is truncated).
  if (fdt_totalsize(blob.data()) > blob.size()) {
    return Refuse(EINVAL, source, "malformed device tree blob: %s",
                  fdt_strerror(-FDT_ERR_TRUNCATED));
  }
  TRY(CheckTagsAdvance(blob.data(), source));
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

}  // namespace dmaheap
