// The system heap: orders {8,4,0} with the ratchet rule, sg tables of modelled addresses,
// capacity, and what happens under fragmentation.

#include <unistd.h>

#include <gtest/gtest.h>

#include <map>
#include <numeric>
#include <vector>

#include "dmaheap/dmaheap.h"
#include "test_util.h"

namespace dmaheap {
namespace {

using Sg = std::vector<std::pair<uint64_t, uint64_t>>;

class SystemHeapTest : public ::testing::Test {
 protected:
  void Boot(uint64_t ram_bytes, uint64_t ram_base = 0x40000000) {
    BootOptions options;
    options.ram_bytes = ram_bytes;
    options.ram_base = ram_base;
    sys_ = std::move(System::Boot(options)).value();
  }
  UniqueFd Alloc(uint64_t len) {
    auto fd = sys_->Allocate("system", len);
    EXPECT_TRUE(fd.ok()) << len << ": " << fd.error();
    return fd.ok() ? std::move(fd).value() : UniqueFd();
  }
  Sg Table(const UniqueFd& fd) { return std::move(sys_->SgTable(fd.get())).value(); }
  std::unique_ptr<System> sys_;
};

TEST_F(SystemHeapTest, LargestBlocksFirst) {
  Boot(64 << 20);
  struct {
    uint64_t len;
    std::vector<uint64_t> lengths;
  } const rows[] = {
      {4096, {4096}},
      {64 << 10, {64 << 10}},
      {(1 << 20) + (64 << 10) + 4096, {1 << 20, 64 << 10, 4096}},
      {3 * 4096, {4096, 4096, 4096}},
      {2 << 20, {1 << 20, 1 << 20}},
  };
  for (const auto& row : rows) {
    SCOPED_TRACE(row.len);
    UniqueFd fd = Alloc(row.len);
    Sg sg = Table(fd);
    std::vector<uint64_t> lengths;
    for (auto [addr, len] : sg) {
      lengths.push_back(len);
      EXPECT_EQ(addr % len, 0u) << "blocks are naturally aligned";
      EXPECT_GE(addr, 0x40000000u);
      EXPECT_LE(addr + len, 0x40000000u + (64u << 20));
    }
    EXPECT_EQ(lengths, row.lengths);
  }
}

TEST_F(SystemHeapTest, SweepOfSizesCoversExactlyThePages) {
  Boot(128 << 20);
  for (uint64_t len : {uint64_t{4} << 10, uint64_t{64} << 10, uint64_t{1} << 20,
                       uint64_t{2} << 20, uint64_t{8} << 20, uint64_t{5} * 4096 + 123}) {
    SCOPED_TRACE(len);
    UniqueFd fd = Alloc(len);
    Sg sg = Table(fd);
    uint64_t sum = 0;
    for (auto [addr, l] : sg) sum += l;
    EXPECT_EQ(sum, (len + 4095) / 4096 * 4096);
  }
}

// Fragmentation: one free 1 MiB block and only scattered single pages beside it. A large
// request takes the 1 MiB block, then falls back to order 0 (the ratchet never tries order 8
// or 4 again) — the sg table shows the mixed orders.
TEST_F(SystemHeapTest, FragmentationFallsBackToOrderZero) {
  Boot(2 << 20);  // 512 pages: each one a buffer fd, within RLIMIT_NOFILE
  std::vector<UniqueFd> pages;
  std::map<uint64_t, size_t> by_pfn;
  for (size_t i = 0; i < 512; ++i) {
    pages.push_back(Alloc(4096));
    by_pfn[Table(pages.back())[0].first >> 12] = i;
  }
  EXPECT_EQ(sys_->Allocate("system", 4096).error(), ENOMEM);
  const uint64_t base = 0x40000000 >> 12;
  for (auto [pfn, i] : by_pfn) {
    uint64_t rel = pfn - base;
    if (rel < 256 || rel % 2 == 0) pages[i].reset();  // first 1 MiB, then every other page
  }
  MemoryStats stats = sys_->Stats();
  EXPECT_EQ(stats.free_pages, 256u + 128u);
  EXPECT_EQ(stats.free_blocks[8], 1u);
  EXPECT_EQ(stats.free_blocks[0], 128u);

  UniqueFd big = Alloc((256 + 100) * 4096);
  Sg sg = Table(big);
  ASSERT_EQ(sg.size(), 101u);
  EXPECT_EQ(sg[0].second, 1u << 20);
  for (size_t i = 1; i < sg.size(); ++i) EXPECT_EQ(sg[i].second, 4096u) << i;
  EXPECT_EQ(sys_->Stats().free_pages, 28u);
}

TEST_F(SystemHeapTest, RequestBeyondMemoryFailsWithNothingLeaked) {
  Boot(16 << 20);
  const MemoryStats before = sys_->Stats();
  for (uint64_t len : {uint64_t{16 << 20} + 4096, uint64_t{1} << 40, uint64_t{1} << 62}) {
    EXPECT_EQ(sys_->Allocate("system", len).error(), ENOMEM) << len;
  }
  const MemoryStats after = sys_->Stats();
  EXPECT_EQ(after.free_pages, before.free_pages);
  EXPECT_EQ(after.free_blocks, before.free_blocks);
  EXPECT_EQ(after.heaps[0].failures, 3u);
  EXPECT_EQ(after.heaps[0].live_buffers, 0u);
  EXPECT_TRUE(testing_util::BufferFds().empty());
}

// Exact capacity is deterministic: a close that has returned is always visible to the next
// allocation.
TEST_F(SystemHeapTest, ExactCapacityIsDeterministic) {
  Boot(16 << 20);
  std::vector<UniqueFd> fds;
  for (int i = 0; i < 16; ++i) fds.push_back(Alloc(1 << 20));
  EXPECT_EQ(sys_->Allocate("system", 4096).error(), ENOMEM);
  for (int round = 0; round < 50; ++round) {
    fds[round % 16].reset();
    fds[round % 16] = Alloc(1 << 20);
    ASSERT_TRUE(fds[round % 16].valid()) << round;
  }
  const MemoryStats stats = sys_->Stats();
  EXPECT_EQ(stats.free_pages, 0u);
  EXPECT_EQ(stats.heaps[0].live_bytes, 16u << 20);
  EXPECT_EQ(stats.heaps[0].peak_bytes, 16u << 20);
  fds.clear();
  EXPECT_EQ(sys_->Stats().free_pages, 4096u);
}

}  // namespace
}  // namespace dmaheap
