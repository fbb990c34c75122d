#include "board/board.h"

#include <gtest/gtest.h>
#include <libfdt.h>

#include <algorithm>

#include <string>
#include <vector>

#include "board_util.h"
#include "mm/page_alloc.h"
#include "mm/reserved_mem.h"

namespace dmaheap {
namespace {

using testing_util::BoardDir;
using testing_util::BoardDts;
using testing_util::ReadFile;
using testing_util::ReservedMemoryNode;

constexpr uint64_t kMiB = uint64_t{1} << 20;

struct Booted {
  Result<Board> board = Errno(EINVAL);
  Result<std::vector<ReservedRegion>> placed = Errno(EINVAL);
  std::vector<std::string> log;
  std::string err;  // what went to stderr
  int error() const { return !board.ok() ? board.error() : placed.error(); }
};

// Compiles, loads and places a board; stderr is captured.
Booted Load(const std::string& dts, const std::string& modules = "") {
  BoardDir dir;
  const std::string dtb = dir.Write("b", dts, modules);
  EXPECT_NE(dtb, "") << "dtc refused:\n" << dts;
  Booted b;
  testing::internal::CaptureStderr();
  b.board = LoadBoard(dtb);
  if (b.board.ok()) b.placed = PlaceReservedMemory(*b.board, &b.log);
  b.err = testing::internal::GetCapturedStderr();
  return b;
}

const ReservedRegion* Find(const std::vector<ReservedRegion>& regions, const std::string& name) {
  for (const ReservedRegion& r : regions) {
    if (r.name == name) return &r;
  }
  return nullptr;
}

TEST(BoardTest, ShippedBoardsDeclareTheirMemory) {
  Result<Board> def = LoadBoard("default");
  ASSERT_TRUE(def.ok());
  EXPECT_EQ(def->ram_base, 0x40000000u);
  EXPECT_EQ(def->ram_bytes, uint64_t{4} << 30);
  EXPECT_EQ(def->modules, (std::vector<std::string>{"system_heap", "cma_heap"}));
  std::vector<std::string> log;
  auto placed = PlaceReservedMemory(*def, &log);
  ASSERT_TRUE(placed.ok());
  ASSERT_EQ(placed->size(), 1u);
  const ReservedRegion& cma = placed->front();
  EXPECT_EQ(cma.name, "linux,cma");
  EXPECT_TRUE(cma.IsCma() && cma.cma_default);
  EXPECT_EQ(cma.size, 128 * kMiB);
  EXPECT_EQ(cma.end(), uint64_t{1} << 32)
      << "placed top-down in its alloc-ranges (below 4 GiB), as memblock does";
  EXPECT_NE(std::find(log.begin(), log.end(),
                      "Reserved memory: created CMA memory pool at 0x00000000f8000000, size "
                      "128 MiB"),
            log.end());

  Result<Board> db = LoadBoard("db845c");
  ASSERT_TRUE(db.ok());
  EXPECT_EQ(db->modules, std::vector<std::string>{"system_heap"}) << "no CMA heap on db845c";
  placed = PlaceReservedMemory(*db, &log);
  ASSERT_TRUE(placed.ok());
  EXPECT_GE(placed->size(), 8u);
  for (const ReservedRegion& r : *placed) {
    EXPECT_TRUE(r.no_map && r.fixed && !r.IsCma() && !r.heap) << r.name << ": firmware only";
  }
  ASSERT_EQ(db->devices.size(), 2u);
  EXPECT_EQ(db->devices[0].name, "display-subsystem@ae00000");
  EXPECT_EQ(db->devices[0].iommu_node, "iommu@15000000");
  EXPECT_EQ(db->devices[0].max_seg_size, 0xffffffffu) << "msm's dma_set_max_seg_size";
  EXPECT_EQ(db->devices[1].name, "video-codec@aa00000");
  EXPECT_TRUE(db->devices[1].iommu);
  EXPECT_EQ(db->devices[1].iova_bits, 32u);
  EXPECT_EQ(db->devices[1].dma_mask, 0xdfffffffu) << "venus's mask";
  EXPECT_FALSE(db->devices[1].needs_contiguous);
  EXPECT_EQ(db->devices[1].memory_region, std::vector<std::string>{"venus@95800000"});

  Result<Board> hikey = LoadBoard("hikey960");
  ASSERT_TRUE(hikey.ok());
  ASSERT_EQ(hikey->devices.size(), 1u);
  EXPECT_EQ(hikey->devices[0].path, "/soc/dpe@e8600000");
  EXPECT_FALSE(hikey->devices[0].iommu);
  EXPECT_EQ(hikey->devices[0].dma_bits, 32u);
  EXPECT_TRUE(hikey->devices[0].needs_contiguous) << "kirin's DRM driver uses the GEM DMA helpers";
  EXPECT_FALSE(hikey->devices[0].coherent);
  EXPECT_EQ(hikey->devices[0].memory_region, std::vector<std::string>{"linux,cma"});
  placed = PlaceReservedMemory(*hikey, &log);
  ASSERT_TRUE(placed.ok());
  const ReservedRegion* hcma = Find(*placed, "linux,cma");
  ASSERT_NE(hcma, nullptr);
  EXPECT_EQ(hcma->base % (4 * kMiB), 0u) << "its alignment property";

  Result<Board> carve = LoadBoard("carveout-demo");
  ASSERT_TRUE(carve.ok());
  placed = PlaceReservedMemory(*carve, &log);
  ASSERT_TRUE(placed.ok());
  const ReservedRegion* c = Find(*placed, "carveout@60000000");
  ASSERT_NE(c, nullptr);
  EXPECT_TRUE(c->heap && c->no_map);
  EXPECT_FALSE(Find(*placed, "firmware@50000000")->heap);
  const ReservedRegion* reserved = Find(*placed, "reserved");
  ASSERT_NE(reserved, nullptr) << "cma=64M in its bootargs";
  EXPECT_EQ(reserved->size, 64 * kMiB);
  EXPECT_EQ(reserved->base, 0x7c000000u) << "top-down below the end of its 1 GiB";
}

TEST(BoardTest, CommandLineCmaWinsOverTheDtDefaultNode) {
  Booted b = Load(BoardDts("chosen { bootargs = \"console=ttyS0 cma=64M\"; };\n" +
                           ReservedMemoryNode("linux,cma { compatible = \"shared-dma-pool\"; "
                                              "reusable; size = <0x0 0x2000000>; "
                                              "linux,cma-default; };")));
  ASSERT_TRUE(b.placed.ok()) << b.err;
  ASSERT_EQ(b.placed->size(), 1u) << "the DT default node is skipped, not reserved";
  EXPECT_EQ(b.placed->front().name, "reserved");
  EXPECT_EQ(b.placed->front().size, 64 * kMiB);
  EXPECT_TRUE(b.placed->front().cma_default);
  EXPECT_NE(b.err.find("Skipping dt linux,cma-default node in favor for \"cma=\" kernel param."),
            std::string::npos)
      << b.err;
  EXPECT_EQ(b.log.back(), "cma: Reserved 64 MiB at 0x000000007c000000");
}

TEST(BoardTest, CmaZeroOnTheCommandLineLeavesNoDefaultArea) {
  Booted b = Load(BoardDts("chosen { bootargs = \"cma=0\"; };\n" +
                           ReservedMemoryNode("linux,cma { compatible = \"shared-dma-pool\"; "
                                              "reusable; size = <0x0 0x2000000>; "
                                              "linux,cma-default; };")));
  ASSERT_TRUE(b.placed.ok()) << b.err;
  EXPECT_TRUE(b.placed->empty()) << "as in the kernel: cma=0 disables the default area";
}

TEST(BoardTest, DynamicRegionsArePlacedTopDownInTheirRanges) {
  Booted b = Load(BoardDts(ReservedMemoryNode(
      "top@7f000000 { reg = <0x0 0x7f000000 0x0 0x1000000>; no-map; };\n"
      "a { size = <0x0 0x1000000>; };\n"
      "b { size = <0x0 0x300000>; alignment = <0x0 0x400000>; };\n"
      "c { size = <0x0 0x1000000>; alloc-ranges = <0x0 0x48000000 0x0 0x4000000>; };\n"
      "pool { compatible = \"shared-dma-pool\"; reusable; size = <0x0 0x400000>; };")));
  ASSERT_TRUE(b.placed.ok()) << b.err;
  EXPECT_EQ(Find(*b.placed, "a")->base, 0x7e000000u) << "below the fixed region";
  EXPECT_EQ(Find(*b.placed, "b")->base, 0x7dc00000u) << "3 MiB on a 4 MiB alignment";
  EXPECT_EQ(Find(*b.placed, "c")->base, 0x4b000000u) << "inside its alloc-ranges";
  const ReservedRegion* pool = Find(*b.placed, "pool");
  EXPECT_EQ(pool->base, 0x7d800000u);
  EXPECT_EQ(pool->base % kCmaMinAlignment, 0u) << "CMA regions on pageblocks";
}

struct Malformed {
  const char* what;
  std::string dts;
  std::string modules;
  int error;
  const char* message;
};

TEST(BoardTest, MalformedBoardsAreRefusedWithAMessageNamingTheProblem) {
  const std::string cma_node =
      "compatible = \"shared-dma-pool\"; reusable; size = <0x0 0x2000000>;";
  const std::vector<Malformed> cases = {
      {"no memory", "/dts-v1/;\n/ { #address-cells = <2>; #size-cells = <2>; };", "", EINVAL,
       "no /memory node with a reg property"},
      {"two banks", BoardDts("", "0x0 0x40000000 0x0 0x1000000 0x0 0x80000000 0x0 0x1000000"),
       "", EINVAL, "one memory bank is modelled"},
      {"overlap",
       BoardDts(ReservedMemoryNode("a@50000000 { reg = <0x0 0x50000000 0x0 0x200000>; };\n"
                                   "b@50100000 { reg = <0x0 0x50100000 0x0 0x200000>; };")),
       "", EINVAL, "reserved-memory nodes 'a@50000000' and 'b@50100000' overlap"},
      {"outside RAM",
       BoardDts(ReservedMemoryNode("far@90000000 { reg = <0x0 0x90000000 0x0 0x200000>; };")),
       "", EINVAL,
       "reserved-memory node 'far@90000000' [0x90000000-0x90200000) is outside RAM "
       "[0x40000000-0x80000000)"},
      {"bad cma=", BoardDts("chosen { bootargs = \"quiet cma=64Q\"; };"), "", EINVAL,
       "/chosen/bootargs: bad cma=64Q"},
      {"cma= too large", BoardDts("chosen { bootargs = \"quiet cma=2G\"; };"), "", ENOMEM,
       "cma: Failed to reserve 2048 MiB (bootargs \"quiet cma=2G\")"},
      // early_cma takes a range that ends before it starts; placing it fails (found by
      // fuzz/cmdline_fuzz's first run, which expected the parser to refuse it).
      {"cma= range ending before it starts",
       BoardDts("chosen { bootargs = \"cma=16M@0x50000000-0x1000\"; };"), "", ENOMEM,
       "cma: Failed to reserve 16 MiB"},
      {"cma= on a reserved place",
       BoardDts("chosen { bootargs = \"cma=16M@0x50000000\"; };\n" +
                ReservedMemoryNode("fw@50000000 { reg = <0x0 0x50000000 0x0 0x200000>; };")),
       "", EBUSY, "cma: Failed to reserve 16 MiB at 0x0000000050000000: already reserved"},
      {"cma= misaligned fixed", BoardDts("chosen { bootargs = \"cma=16M@0x50100000\"; };"), "",
       EINVAL, "cma: Region at 0x0000000050100000 must be aligned to 0x0000000000200000 bytes"},
      {"neither reg nor size", BoardDts(ReservedMemoryNode("empty { no-map; };")), "", EINVAL,
       "reserved-memory node 'empty' has neither reg nor size"},
      {"reusable and no-map",
       BoardDts(ReservedMemoryNode("both { size = <0x0 0x200000>; reusable; no-map; };")), "",
       EINVAL, "reserved-memory node 'both' is both reusable and no-map"},
      {"two defaults",
       BoardDts(ReservedMemoryNode("one { " + cma_node + " linux,cma-default; };\n"
                                   "two { " + cma_node + " linux,cma-default; };")),
       "", EINVAL, "reserved-memory nodes 'one' and 'two' are both linux,cma-default"},
      {"default not CMA",
       BoardDts(ReservedMemoryNode("plain { size = <0x0 0x200000>; linux,cma-default; };")), "",
       EINVAL, "reserved-memory node 'plain' has linux,cma-default but is not a reusable"},
      {"misaligned CMA",
       BoardDts(ReservedMemoryNode("cma@50100000 { compatible = \"shared-dma-pool\"; reusable; "
                                   "reg = <0x0 0x50100000 0x0 0x200000>; };")),
       "", EINVAL, "incorrect alignment of CMA region 'cma@50100000'"},
      {"CMA size off pageblocks",
       BoardDts(ReservedMemoryNode("odd { compatible = \"shared-dma-pool\"; reusable; "
                                   "size = <0x0 0x300000>; };")),
       "", EINVAL, "incorrect alignment of CMA region 'odd'"},
      {"does not fit", BoardDts(ReservedMemoryNode("huge { size = <0x0 0x80000000>; };")), "",
       ENOMEM, "failed to allocate memory for node 'huge'"},
      {"size cells", BoardDts(ReservedMemoryNode("short { size = <0x200000>; };")), "", EINVAL,
       "invalid size property in '/reserved-memory/short' node"},
      {"reg length", BoardDts(ReservedMemoryNode("r@0 { reg = <0x0 0x50000000 0x0>; };")), "",
       EINVAL, "invalid reg property in '/reserved-memory/r@0' node"},
      {"alignment not a power of two",
       BoardDts(ReservedMemoryNode("al { size = <0x0 0x200000>; alignment = <0x0 0x3000>; };")),
       "", EINVAL, "reserved-memory node 'al': alignment 0x3000 is not a power of two"},
      {"heap mark on a plain region",
       BoardDts(ReservedMemoryNode("m@50000000 { reg = <0x0 0x50000000 0x0 0x200000>; "
                                   "dmaheap,heap; };")),
       "", EINVAL, "reserved-memory node 'm@50000000' has dmaheap,heap but is neither"},
      {"heap mark on a dynamic no-map region",
       BoardDts(ReservedMemoryNode("d { size = <0x0 0x200000>; no-map; dmaheap,heap; };")), "",
       EINVAL, "reserved-memory node 'd' has dmaheap,heap but is neither"},
      {"cells mismatch",
       BoardDts("reserved-memory { #address-cells = <1>; #size-cells = <1>; ranges; };"), "",
       EINVAL, "reserved-memory: root #size-cells and #address-cells must match"},
      {"dangling memory-region", BoardDts("dev { memory-region = <0x1234>; };"), "", EINVAL,
       "/dev: memory-region phandle 4660 names no node"},
      {"modules.load", BoardDts(""), "system_heap cma_heap\n", EINVAL,
       "modules.load line \"system_heap cma_heap\": one module name per line"},
  };
  for (const Malformed& c : cases) {
    SCOPED_TRACE(c.what);
    Booted b = Load(c.dts, c.modules);
    EXPECT_EQ(b.error(), c.error);
    EXPECT_NE(b.err.find(c.message), std::string::npos) << b.err;
    EXPECT_NE(b.err.find("dmaheap: board "), std::string::npos) << "names the board: " << b.err;
  }
}

TEST(BoardTest, BrokenBlobsAreRefused) {
  BoardDir dir;
  const std::string dtb = dir.Write("ok", BoardDts(""));
  std::vector<uint8_t> blob = ReadFile(dtb);
  ASSERT_GT(blob.size(), 64u);
  const std::vector<uint8_t> garbage(256, 0x5a);
  const std::vector<uint8_t> truncated(blob.begin(), blob.begin() + 64);  // header intact
  std::vector<uint8_t> bad_magic = blob;
  bad_magic[0] ^= 0xff;
  for (const std::vector<uint8_t>* b :
       std::initializer_list<const std::vector<uint8_t>*>{&garbage, &truncated, &bad_magic}) {
    testing::internal::CaptureStderr();
    Result<Board> board = ParseBoardBlob(*b, "test.dtb");
    const std::string err = testing::internal::GetCapturedStderr();
    EXPECT_EQ(board.error(), EINVAL);
    EXPECT_NE(err.find("dmaheap: board test.dtb: malformed device tree blob: "),
              std::string::npos)
        << err;
  }
  // A header claiming an old format (found by fuzzing: libfdt's full check crashes on these).
  for (const uint8_t version : {uint8_t{3}, uint8_t{14}}) {
    std::vector<uint8_t> old = blob;
    old[20] = old[21] = old[22] = 0;  // version, big-endian, at offset 20
    old[23] = version;
    old[24] = old[25] = old[26] = 0;  // last compatible version, at offset 24
    old[27] = 2;
    testing::internal::CaptureStderr();
    EXPECT_EQ(ParseBoardBlob(old, "old.dtb").error(), EINVAL);
    const std::string err = testing::internal::GetCapturedStderr();
    EXPECT_NE(err.find("dmaheap: board old.dtb: device tree blob version " +
                       std::to_string(version) + ": 16 or later expected"),
              std::string::npos)
        << err;
  }
  // A property whose length wraps the walk back onto its own tag (found by fuzzing: libfdt's
  // full check, and every walk after it, loops forever on it).
  {
    std::vector<uint8_t> wrap = blob;
    int offset = 0, next = 0, prop = -1;
    for (uint32_t tag = 0; (tag = fdt_next_tag(wrap.data(), offset, &next)) != FDT_END;
         offset = next) {
      if (tag == FDT_PROP) {
        prop = offset;
        break;
      }
    }
    ASSERT_GE(prop, 0);
    const size_t len_at = fdt_off_dt_struct(wrap.data()) + static_cast<size_t>(prop) + 4;
    const uint8_t minus12[4] = {0xff, 0xff, 0xff, 0xf4};  // big-endian: back over the header
    std::copy(minus12, minus12 + 4, wrap.begin() + static_cast<long>(len_at));
    testing::internal::CaptureStderr();
    EXPECT_EQ(ParseBoardBlob(wrap, "wrap.dtb").error(), EINVAL);
    const std::string err = testing::internal::GetCapturedStderr();
    EXPECT_NE(err.find("dmaheap: board wrap.dtb: malformed device tree blob: the tag at "
                       "structure offset " +
                       std::to_string(prop) + " does not advance"),
              std::string::npos)
        << err;
  }
  testing::internal::CaptureStderr();
  EXPECT_EQ(ParseBoardBlob(std::span<const uint8_t>(blob.data(), 8), "tiny.dtb").error(), EINVAL);
  EXPECT_NE(testing::internal::GetCapturedStderr().find("not a device tree blob (8 bytes)"),
            std::string::npos);
}

TEST(BoardTest, UnknownBoardNamesWhereItLooked) {
  setenv("DMAHEAP_BOARD_PATH", "/nonexistent-boards", 1);
  testing::internal::CaptureStderr();
  Result<Board> b = LoadBoard("nosuch");
  const std::string err = testing::internal::GetCapturedStderr();
  unsetenv("DMAHEAP_BOARD_PATH");
  EXPECT_EQ(b.error(), ENOENT);
  EXPECT_NE(err.find("board nosuch: not found (looked for nosuch.dtb in /nonexistent-boards:"),
            std::string::npos)
      << err;
}

TEST(BoardTest, BoardPathComesFirst) {
  BoardDir dir;
  ASSERT_NE(dir.Write("default", BoardDts(""), "system_heap\n"), "");
  setenv("DMAHEAP_BOARD_PATH", dir.path().c_str(), 1);
  Result<Board> b = LoadBoard("default");
  unsetenv("DMAHEAP_BOARD_PATH");
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(b->source, dir.path() + "/default.dtb");
  EXPECT_EQ(b->ram_bytes, uint64_t{1} << 30);
  EXPECT_TRUE(b->regions.empty());
}

TEST(ReservedMemoryTest, TakesRegionsOutOfRamAndMakesCmaAreas) {
  auto pages = std::move(PageAllocator::Create(0x40000, 0x40000)).value();  // 1 GiB at 1 GiB
  const uint64_t free_before = pages->free_pages();
  std::vector<ReservedRegion> regions(3);
  regions[0] = {.name = "reserved", .compatible = "shared-dma-pool", .base = 0x7c000000,
                .size = 64 * kMiB, .reusable = true, .cma_default = true};
  regions[1] = {.name = "carveout@60000000", .base = 0x60000000, .size = 16 * kMiB,
                .fixed = true, .no_map = true, .heap = true};
  regions[2] = {.name = "pool", .compatible = "shared-dma-pool", .base = 0x70000000,
                .size = 4 * kMiB, .reusable = true, .heap = true};
  auto reserved = ReservedMemory::Create(*pages, regions);
  ASSERT_TRUE(reserved.ok());
  EXPECT_EQ(pages->free_pages(), free_before - (84 * kMiB >> 12));
  ASSERT_EQ((*reserved)->cma().size(), 2u);
  ASSERT_NE((*reserved)->default_cma(), nullptr);
  EXPECT_EQ((*reserved)->default_cma()->area->name(), "reserved");
  EXPECT_EQ((*reserved)->default_cma()->area->base_pfn(), 0x7c000u);
  EXPECT_TRUE((*reserved)->cma()[1].heap);
  const std::vector<ReservedRegion>& kept = (*reserved)->regions();
  ASSERT_EQ(kept.size(), 3u);
  EXPECT_EQ(kept[1].name, "carveout@60000000");
  EXPECT_TRUE(kept[1].no_map && kept[1].heap && !kept[1].reusable);
  EXPECT_TRUE(kept[2].reusable && kept[2].heap && !kept[2].no_map);
  // Nothing of a region is ever handed out by the buddy allocator.
  while (true) {
    Result<uint64_t> pfn = pages->AllocPages(0);
    if (!pfn.ok()) break;
    EXPECT_FALSE(*pfn >= 0x60000 && *pfn < 0x61000) << *pfn;
    EXPECT_FALSE(*pfn >= 0x70000 && *pfn < 0x70400) << *pfn;
    EXPECT_LT(*pfn, 0x7c000u);
  }

  // A region that overlaps one already taken: refused with a message.
  auto again = std::move(PageAllocator::Create(0x40000, 0x40000)).value();
  regions[1].base = 0x7c000000;
  testing::internal::CaptureStderr();
  EXPECT_EQ(ReservedMemory::Create(*again, regions).error(), EINVAL);
  EXPECT_NE(testing::internal::GetCapturedStderr().find(
                "carveout@60000000 at 0x000000007c000000, size 16384 KiB: overlaps memory "
                "already reserved"),
            std::string::npos);
}

TEST(ReservedMemoryTest, CmaDebugfsTextShowsUseAndMap) {
  auto pages = std::move(PageAllocator::Create(0x40000, 0x40000)).value();
  std::vector<ReservedRegion> regions(1);
  regions[0] = {.name = "reserved", .compatible = "shared-dma-pool", .base = 0x7c000000,
                .size = 64 * kMiB, .reusable = true, .cma_default = true};
  auto reserved = std::move(ReservedMemory::Create(*pages, regions)).value();
  CmaArea& area = *reserved->cma()[0].area;
  ASSERT_TRUE(area.Alloc(4096, 8).ok());  // the first quarter
  ASSERT_TRUE(area.Alloc(100, 0).ok());   // part of the next cell
  const std::string text = CmaDebugfsText(*reserved, false, 16);
  EXPECT_EQ(text,
            "reserved/base_pfn: 507904\n"
            "reserved/count: 16384\n"
            "reserved/order_per_bit: 0\n"
            "reserved/used: 4196\n"
            "reserved/maxchunk: 12188\n"
            "reserved/map: [####+...........] 1024 pages a cell\n");
  const std::string with_bitmap = CmaDebugfsText(*reserved, true, 16);
  const size_t at = with_bitmap.find("reserved/bitmap: ");
  ASSERT_NE(at, std::string::npos);
  // 4196 pages used from the start: 131 full words, then 4 bits; 512 words in all.
  std::string expect = "reserved/bitmap:";
  for (int i = 0; i < 131; ++i) expect += " 4294967295";
  expect += " 15";
  for (int i = 132; i < 512; ++i) expect += " 0";
  EXPECT_EQ(with_bitmap.substr(at), expect + "\n");
}

}  // namespace
}  // namespace dmaheap
