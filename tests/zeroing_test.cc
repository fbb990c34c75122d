// kselftest test_alloc_zeroed (kernel-facts.md §7.2): 32 buffers filled with 0xff and closed;
// 32 new buffers — built from the very same modelled pages — read as zero.

#include <gtest/gtest.h>

#include <algorithm>
#include <set>
#include <vector>

#include "dmaheap/dmaheap.h"

namespace dmaheap {
namespace {

class ZeroingTest : public ::testing::TestWithParam<uint64_t> {};

TEST_P(ZeroingTest, RecycledMemoryComesBackZeroed) {
  const uint64_t size = GetParam();
  BootOptions options;
  options.ram_bytes = 32 * size;  // exactly enough: round two must reuse round one's pages
  auto sys = std::move(System::Boot(options)).value();

  std::set<uint64_t> first_pages;
  std::vector<UniqueFd> fds;
  for (int i = 0; i < 32; ++i) {
    auto fd = sys->Allocate("system", size);
    ASSERT_TRUE(fd.ok()) << "FAIL (Allocation (" << i << ") failed)";
    auto map = Mapping::Map(fd->get(), size);
    ASSERT_TRUE(map.ok());
    {
      auto cpu = CpuAccess::Begin(fd->get(), SyncType::kReadWrite);
      ASSERT_TRUE(cpu.ok());
      std::fill(map->bytes(), map->bytes() + size, 0xff);
    }
    for (auto [addr, len] : sys->SgTable(fd->get()).value()) first_pages.insert(addr);
    fds.push_back(std::move(fd).value());
  }
  fds.clear();

  std::set<uint64_t> second_pages;
  for (int i = 0; i < 32; ++i) {
    auto fd = sys->Allocate("system", size);
    ASSERT_TRUE(fd.ok());
    auto map = Mapping::Map(fd->get(), size);
    ASSERT_TRUE(map.ok());
    auto cpu = CpuAccess::Begin(fd->get(), SyncType::kReadWrite);
    ASSERT_TRUE(cpu.ok());
    const uint8_t* p = map->bytes();
    const auto* nonzero = std::find_if(p, p + size, [](uint8_t b) { return b != 0; });
    ASSERT_EQ(nonzero, p + size) << "Allocated buffer not zeroed @ " << (nonzero - p);
    for (auto [addr, len] : sys->SgTable(fd->get()).value()) second_pages.insert(addr);
    fds.push_back(std::move(fd).value());
  }
  EXPECT_EQ(first_pages, second_pages) << "round two reused round one's modelled pages";
}

INSTANTIATE_TEST_SUITE_P(Sizes, ZeroingTest, ::testing::Values(4096, 1 << 20),
                         [](const ::testing::TestParamInfo<uint64_t>& info) {
                           return info.param == 4096 ? std::string("4k") : std::string("1024k");
                         });

}  // namespace
}  // namespace dmaheap
