// Device nodes of a board as the DMA API will see them (BoardDevice, DmaSpecOf), the swiotlb
// pool a board gets, and the refusals that name the node and the problem.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "board/board.h"
#include "board_util.h"

namespace dmaheap {
namespace {

using testing_util::BoardDir;
using testing_util::BoardDts;

struct Loaded {
  Result<Board> board = Errno(EINVAL);
  std::string err;
};

Loaded Load(const std::string& dts) {
  BoardDir dir;
  const std::string dtb = dir.Write("b", dts);
  EXPECT_NE(dtb, "") << "dtc refused:\n" << dts;
  Loaded l;
  testing::internal::CaptureStderr();
  l.board = LoadBoard(dtb);
  l.err = testing::internal::GetCapturedStderr();
  return l;
}

std::string Soc(const std::string& props, const std::string& children) {
  return "soc { #address-cells = <2>; #size-cells = <2>; ranges; " + props + "\n" + children +
         "\n};";
}

TEST(BoardDevicesTest, EveryDmaPropertyIsRead) {
  Loaded l = Load(BoardDts(Soc(
      "dma-ranges = <0x0 0x0 0x0 0x40000000 0x0 0x80000000>;",
      "smmu: iommu@1000 { reg = <0x0 0x1000 0x0 0x1000>; #iommu-cells = <1>; "
      "dmaheap,iova-bits = <36>; };\n"
      "gpu@2000 { compatible = \"vendor,gpu\", \"other\"; reg = <0x0 0x2000 0x0 0x1000>; "
      "iommus = <&smmu 3>; dma-coherent; dmaheap,max-segment-size = <0x100000>; "
      "dmaheap,dma-mask = <0xf 0xffffffff>; };\n"
      "lcd@3000 { reg = <0x0 0x3000 0x0 0x1000>; dmaheap,dma-contiguous; };\n"
      "off@4000 { reg = <0x0 0x4000 0x0 0x1000>; dmaheap,dma-contiguous; status = \"disabled\"; };\n"
      "uart@5000 { reg = <0x0 0x5000 0x0 0x1000>; };")));
  ASSERT_TRUE(l.board.ok()) << l.err;
  ASSERT_EQ(l.board->devices.size(), 2u) << "a disabled node and a node without DMA properties "
                                            "are no importers";
  const BoardDevice& gpu = l.board->devices[0];
  EXPECT_EQ(gpu.name, "gpu@2000");
  EXPECT_EQ(gpu.path, "/soc/gpu@2000");
  EXPECT_EQ(gpu.compatible, "vendor,gpu");
  EXPECT_TRUE(gpu.iommu);
  EXPECT_EQ(gpu.iommu_node, "iommu@1000");
  EXPECT_EQ(gpu.iova_bits, 36u);
  EXPECT_TRUE(gpu.coherent);
  EXPECT_EQ(gpu.max_seg_size, 0x100000u);
  EXPECT_EQ(gpu.dma_mask, 0xfffffffffu);
  EXPECT_TRUE(gpu.translated);
  EXPECT_EQ(gpu.cpu_start, 0x40000000u);
  EXPECT_EQ(gpu.bus_limit, 0x7fffffffu);
  const DmaDeviceSpec gpu_spec = DmaSpecOf(gpu);
  EXPECT_EQ(gpu_spec.dma_mask, 0xfffffffffu) << "a driver's mask is its own";
  EXPECT_EQ(gpu_spec.bus_limit, 0x7fffffffu) << "the bus still limits it at map time";

  const DmaDeviceSpec lcd = DmaSpecOf(l.board->devices[1]);
  EXPECT_TRUE(lcd.needs_contiguous);
  EXPECT_FALSE(lcd.iommu);
  EXPECT_EQ(lcd.dma_mask, 0x7fffffffu)
      << "of_dma_configure: the 32-bit default clamped to the dma-ranges end";
  EXPECT_EQ(lcd.cpu_start - lcd.bus_start, 0x40000000u);
  EXPECT_EQ(lcd.max_seg_size, 65536u);
}

TEST(BoardDevicesTest, AnEmptyDmaRangesIsOneToOne) {
  Loaded l = Load(BoardDts(
      Soc("dma-ranges;", "dev@1000 { reg = <0x0 0x1000 0x0 0x1000>; dmaheap,dma-bits = <40>; };")));
  ASSERT_TRUE(l.board.ok()) << l.err;
  const BoardDevice& d = l.board->devices[0];
  EXPECT_TRUE(d.has_dma_ranges);
  EXPECT_FALSE(d.translated);
  EXPECT_EQ(DmaSpecOf(d).dma_mask, 0xffffffffffu);
  EXPECT_EQ(DmaSpecOf(d).bus_limit, 0u);
}

TEST(BoardDevicesTest, BadDevicePropertiesAreRefusedNamingTheNode) {
  struct Row {
    std::string soc_props, child, message;
  };
  const std::vector<Row> rows = {
      {"dma-ranges = <0x0 0x0 0x0 0x0>;", "d@1 { reg = <0x0 0x1 0x0 0x1>; dmaheap,dma-bits = <32>; };",
       "/soc/d@1: dma-ranges of '/soc' must be one <child-address parent-address size> entry"},
      {"dma-ranges = <0x0 0x0 0x0 0x0 0x0 0x0>;",
       "d@1 { reg = <0x0 0x1 0x0 0x1>; dmaheap,dma-bits = <32>; };",
       "/soc/d@1: dma-ranges of '/soc' has an empty or wrapping range"},
      {"", "d@1 { reg = <0x0 0x1 0x0 0x1>; iommus = <0x77 1>; };",
       "/soc/d@1: iommus phandle 119 names no node"},
      {"", "m: iommu@2 { reg = <0x0 0x2 0x0 0x1>; dmaheap,iova-bits = <12>; };\n"
           "d@1 { reg = <0x0 0x1 0x0 0x1>; iommus = <&m>; };",
       "/soc/iommu@2: dmaheap,iova-bits 12: 20 to 64 expected"},
      {"", "d@1 { reg = <0x0 0x1 0x0 0x1>; dmaheap,dma-bits = <16>; };",
       "/soc/d@1: dmaheap,dma-bits 16: 24 to 64 expected"},
      {"", "d@1 { reg = <0x0 0x1 0x0 0x1>; dmaheap,max-segment-size = <512>; };",
       "/soc/d@1: dmaheap,max-segment-size 512: 4096 to 4294967295 expected"},
      {"", "d@1 { reg = <0x0 0x1 0x0 0x1>; dmaheap,dma-mask = <0x0 0xfff>; };",
       "/soc/d@1: dmaheap,dma-mask 0xfff: at least 24 bits expected"},
      {"", "a { d@1 { dma-coherent; }; };\nb { d@1 { dma-coherent; }; };",
       "devices /soc/a/d@1 and /soc/b/d@1 have the same name 'd@1'"},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(row.child);
    Loaded l = Load(BoardDts(Soc(row.soc_props, row.child)));
    EXPECT_EQ(l.board.error(), EINVAL);
    EXPECT_NE(l.err.find(row.message), std::string::npos) << l.err;
  }
}

TEST(BoardDevicesTest, SwiotlbPoolFollowsArm64AndTheCommandLine) {
  auto pool = [](const std::string& bootargs, const std::string& ram,
                 std::vector<std::string>* log) {
    Loaded l = Load(BoardDts("chosen { bootargs = \"" + bootargs + "\"; };", ram));
    EXPECT_TRUE(l.board.ok()) << l.err;
    Result<SwiotlbConfig> c = PlaceSwiotlb(*l.board, {}, log);
    EXPECT_TRUE(c.ok());
    return c.ok() ? *c : SwiotlbConfig{};
  };
  std::vector<std::string> log;
  // RAM 0x80000000 + 4 GiB: past the 32-bit zone, so the default 64 MiB below 4 GiB.
  SwiotlbConfig c = pool("console=ttyMSM0", "0x0 0x80000000 0x1 0x0", &log);
  EXPECT_EQ(c.base, 0xfc000000u);
  EXPECT_EQ(c.bytes, uint64_t{64} << 20);
  EXPECT_FALSE(c.force);
  EXPECT_EQ(log.back(), "software IO TLB: mapped [mem 0x00000000fc000000-0x00000000ffffffff] (64MB)");
  // All RAM below 4 GiB: no pool, unless forced.
  EXPECT_EQ(pool("", "0x0 0x40000000 0x0 0x40000000", &log).bytes, 0u);
  c = pool("swiotlb=100,force", "0x0 0x40000000 0x0 0x40000000", &log);
  EXPECT_EQ(c.bytes, 128u * 2048) << "nslabs rounded up to a 128-slot segment";
  EXPECT_TRUE(c.force);
  EXPECT_EQ(c.base + c.bytes, 0x80000000u);
  EXPECT_EQ(pool("swiotlb=noforce", "0x0 0x80000000 0x1 0x0", &log).bytes, 0u);
  EXPECT_EQ(pool("swiotlb=2048,4", "0x0 0x80000000 0x1 0x0", &log).bytes, 2048u * 2048)
      << "the area count is parsed and not modelled";
}

TEST(BoardDevicesTest, ShippedBoardsSwiotlbs) {
  for (const auto& [name, bytes] :
       std::vector<std::pair<std::string, uint64_t>>{{"default", 64 << 20}, {"db845c", 64 << 20},
                                                     {"hikey960", 0}, {"carveout-demo", 0}}) {
    SCOPED_TRACE(name);
    Result<Board> b = LoadBoard(name);
    ASSERT_TRUE(b.ok());
    std::vector<std::string> log;
    Result<std::vector<ReservedRegion>> placed = PlaceReservedMemory(*b, &log);
    ASSERT_TRUE(placed.ok());
    Result<SwiotlbConfig> c = PlaceSwiotlb(*b, *placed, &log);
    ASSERT_TRUE(c.ok());
    EXPECT_EQ(c->bytes, bytes);
    for (const ReservedRegion& r : *placed)
      EXPECT_TRUE(c->bytes == 0 || c->base + c->bytes <= r.base || r.end() <= c->base) << r.name;
  }
}

}  // namespace
}  // namespace dmaheap
