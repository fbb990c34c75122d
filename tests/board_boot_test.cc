// Boards booted for real (embedded System): the heaps each one gets, and what the CMA and
// carveout heaps' buffers are.
#include <sys/mman.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "board_util.h"
#include "dmaheap/dmaheap.h"
#include "test_util.h"

namespace dmaheap {
namespace {

using testing_util::BoardDir;
using testing_util::BootBoard;
using testing_util::BoardDts;
using testing_util::ReservedMemoryNode;

constexpr uint64_t kMiB = uint64_t{1} << 20;

std::set<std::string> Heaps(System& sys) {
  std::vector<std::string> names = sys.HeapNames();
  return {names.begin(), names.end()};
}

std::vector<std::pair<uint64_t, uint64_t>> Sg(System& sys, const UniqueFd& fd) {
  auto sg = sys.SgTable(fd.get());
  EXPECT_TRUE(sg.ok());
  return sg.ok() ? *sg : std::vector<std::pair<uint64_t, uint64_t>>{};
}

TEST(BoardBootTest, EachShippedBoardGetsTheHeapsTheKernelWouldCreate) {
  struct Expect {
    const char* board;
    std::set<std::string> heaps;
  };
  const std::vector<Expect> boards = {
      {"default", {"system", "system-uncached", "default_cma_region", "linux,cma"}},
      {"hikey960", {"system", "system-uncached", "default_cma_region", "linux,cma"}},
      {"db845c", {"system", "system-uncached"}},
      {"carveout-demo",
       {"system", "system-uncached", "default_cma_region", "reserved", "carveout@60000000"}},
  };
  for (const Expect& e : boards) {
    SCOPED_TRACE(e.board);
    std::unique_ptr<System> sys = BootBoard(e.board);
    ASSERT_NE(sys, nullptr);
    EXPECT_EQ(Heaps(*sys), e.heaps);
    const std::string lsmod = sys->Lsmod();
    EXPECT_EQ(lsmod.find("cma_heap") != std::string::npos, e.heaps.count("default_cma_region") > 0)
        << lsmod;
  }
}

TEST(BoardBootTest, HeapPropertiesAreWhatTheirBuffersAre) {
  std::unique_ptr<System> sys = BootBoard("carveout-demo");
  ASSERT_NE(sys, nullptr);
  std::map<std::string, HeapStats> by_name;
  for (const HeapStats& h : sys->Stats().heaps) by_name[h.name] = h;
  EXPECT_FALSE(by_name["system"].contiguous);
  EXPECT_EQ(by_name["system"].max_size, 0u);
  for (const char* name : {"default_cma_region", "reserved"}) {
    EXPECT_TRUE(by_name[name].contiguous) << name;
    EXPECT_EQ(by_name[name].max_size, 64 * kMiB) << name;
  }
  EXPECT_TRUE(by_name["carveout@60000000"].contiguous);
  EXPECT_EQ(by_name["carveout@60000000"].max_size, 64 * kMiB);
  for (const auto& [name, h] : by_name) EXPECT_EQ(h.cached, name != "system-uncached") << name;
  EXPECT_FALSE(by_name["system-uncached"].contiguous);
}

TEST(BoardBootTest, CommandLineCmaGivesReservedAndDefaultCmaRegion) {
  BoardDir dir;
  ASSERT_NE(dir.Write("cmdline", BoardDts("chosen { bootargs = \"cma=64M\"; };\n" +
                                          ReservedMemoryNode(
                                              "linux,cma { compatible = \"shared-dma-pool\"; "
                                              "reusable; size = <0x0 0x2000000>; "
                                              "linux,cma-default; };")),
                      "system_heap\ncma_heap\n"),
            "");
  testing::internal::CaptureStderr();
  std::unique_ptr<System> sys = BootBoard(dir.path() + "/cmdline.dtb");
  const std::string err = testing::internal::GetCapturedStderr();
  ASSERT_NE(sys, nullptr);
  EXPECT_EQ(Heaps(*sys), (std::set<std::string>{"system", "system-uncached", "default_cma_region",
                                                "reserved"}));
  EXPECT_NE(err.find("Skipping dt linux,cma-default node"), std::string::npos) << err;
  MemoryStats stats = sys->Stats();
  ASSERT_EQ(stats.cma.size(), 1u);
  EXPECT_EQ(stats.cma[0].name, "reserved");
  EXPECT_EQ(stats.cma[0].count, 64 * kMiB >> 12);
  EXPECT_TRUE(stats.cma[0].is_default);
}

TEST(BoardBootTest, CmaBuffersAreOneZeroedSegmentAlignedUpToTheCap) {
  std::unique_ptr<System> sys = BootBoard("default");
  ASSERT_NE(sys, nullptr);
  const MemoryStats before = sys->Stats();
  ASSERT_EQ(before.cma.size(), 1u);
  const uint64_t base = before.cma[0].base_pfn << 12;

  auto small = sys->Allocate("default_cma_region", 64 * 1024);
  ASSERT_TRUE(small.ok());
  auto sg = Sg(*sys, *small);
  ASSERT_EQ(sg.size(), 1u) << "one contiguous segment";
  EXPECT_EQ(sg[0], std::make_pair(base, uint64_t{64 * 1024}));

  // 8 MiB asks for order 11; CONFIG_CMA_ALIGNMENT caps it at 8 (1 MiB): the next 1 MiB
  // boundary after the 64 KiB buffer.
  auto big = sys->Allocate("linux,cma", 8 * kMiB);
  ASSERT_TRUE(big.ok());
  sg = Sg(*sys, *big);
  ASSERT_EQ(sg.size(), 1u);
  EXPECT_EQ(sg[0].first, base + kMiB);
  EXPECT_EQ(sg[0].second, 8 * kMiB);

  // Both names are the same area.
  MemoryStats stats = sys->Stats();
  EXPECT_EQ(stats.cma[0].used, (64 * 1024 + 8 * kMiB) >> 12);

  {
    auto map = Mapping::Map(big->get(), 8 * kMiB);
    ASSERT_TRUE(map.ok());
    const auto* bytes = static_cast<const unsigned char*>(map->data());
    EXPECT_TRUE(std::all_of(bytes, bytes + 8 * kMiB, [](unsigned char c) { return c == 0; }));
    EXPECT_EQ(Mapping::Map(big->get(), 4096, PROT_READ, MAP_PRIVATE).error(), EINVAL)
        << "cma_heap_mmap refuses a private mapping";
  }

  small->reset();
  big->reset();
  sys->Drain();
  EXPECT_EQ(sys->Stats().cma[0].used, 0u);
  EXPECT_EQ(sys->Stats().free_pages, before.free_pages) << "CMA never touches the buddy pages";
}

TEST(BoardBootTest, HugeCmaRequestsFailAtOnce) {
  std::unique_ptr<System> sys = BootBoard("default");
  ASSERT_NE(sys, nullptr);
  for (uint64_t len : {uint64_t{1} << 40, uint64_t{1} << 62, 129 * kMiB}) {
    testing::internal::CaptureStderr();
    EXPECT_EQ(sys->Allocate("default_cma_region", len).error(), ENOMEM) << len;
    testing::internal::GetCapturedStderr();
  }
}

TEST(BoardBootTest, CarveoutHeapIsFirstFitOverItsRegionOnly) {
  std::unique_ptr<System> sys = BootBoard("carveout-demo");
  ASSERT_NE(sys, nullptr);
  const std::string heap = "carveout@60000000";
  std::vector<UniqueFd> held;
  for (int i = 0; i < 8; ++i) {
    auto fd = sys->Allocate(heap, 8 * kMiB);
    ASSERT_TRUE(fd.ok()) << i;
    auto sg = Sg(*sys, *fd);
    ASSERT_EQ(sg.size(), 1u);
    EXPECT_EQ(sg[0], std::make_pair(0x60000000 + i * 8 * kMiB, 8 * kMiB));
    held.push_back(std::move(fd).value());
  }
  EXPECT_EQ(sys->Allocate(heap, 4096).error(), ENOMEM) << "64 MiB region, 64 MiB held";
  held[3].reset();  // a hole in the middle: first fit takes it again
  sys->Drain();
  auto again = sys->Allocate(heap, 4 * kMiB);
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(Sg(*sys, *again)[0].first, 0x60000000 + 3 * 8 * kMiB);
  // The firmware no-map region is not a heap; the system heap never hands out carveout pages.
  EXPECT_EQ(sys->FindHeap("firmware@50000000").error(), ENOENT);
  auto sys_buf = sys->Allocate("system", 16 * kMiB);
  ASSERT_TRUE(sys_buf.ok());
  for (const auto& [addr, len] : Sg(*sys, *sys_buf)) {
    EXPECT_TRUE(addr + len <= 0x50000000 || addr >= 0x50200000) << std::hex << addr;
    EXPECT_TRUE(addr + len <= 0x60000000 || addr >= 0x64000000) << std::hex << addr;
  }
}

TEST(BoardBootTest, MarkedReusableRegionsBecomeHeapsUnmarkedOnesDoNot) {
  BoardDir dir;
  ASSERT_NE(dir.Write("areas", BoardDts(ReservedMemoryNode(
                                   "linux,cma { compatible = \"shared-dma-pool\"; reusable; "
                                   "size = <0x0 0x4000000>; linux,cma-default; };\n"
                                   "camera@70000000 { compatible = \"shared-dma-pool\"; reusable; "
                                   "reg = <0x0 0x70000000 0x0 0x1000000>; dmaheap,heap; };\n"
                                   "other { compatible = \"shared-dma-pool\"; reusable; "
                                   "size = <0x0 0x1000000>; };")),
                      "system_heap\ncma_heap\n"),
            "");
  std::unique_ptr<System> sys = BootBoard(dir.path() + "/areas.dtb");
  ASSERT_NE(sys, nullptr);
  EXPECT_EQ(Heaps(*sys), (std::set<std::string>{"system", "system-uncached", "default_cma_region",
                                                "linux,cma", "camera@70000000"}));
  EXPECT_EQ(sys->Stats().cma.size(), 3u) << "the unmarked area exists, without a heap";
  auto fd = sys->Allocate("camera@70000000", 2 * kMiB);
  ASSERT_TRUE(fd.ok());
  EXPECT_EQ(Sg(*sys, *fd)[0].first, 0x70000000u);
}

TEST(BoardBootTest, ABoardThatDoesNotFitDoesNotBootHalfWay) {
  BoardDir dir;
  ASSERT_NE(dir.Write("nofit", BoardDts("chosen { bootargs = \"cma=4G\"; };"), "system_heap\n"),
            "");
  testing::internal::CaptureStderr();
  BootOptions options;
  options.board = dir.path() + "/nofit.dtb";
  EXPECT_EQ(System::Boot(options).error(), ENOMEM);
  EXPECT_NE(testing::internal::GetCapturedStderr().find("cma: Failed to reserve 4096 MiB"),
            std::string::npos);
}

}  // namespace
}  // namespace dmaheap
