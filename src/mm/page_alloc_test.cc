#include "mm/page_alloc.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>
#include <utility>
#include <vector>

namespace dmaheap {
namespace {

std::unique_ptr<PageAllocator> Make(uint64_t base_pfn, uint64_t pages) {
  auto pa = PageAllocator::Create(base_pfn, pages);
  EXPECT_TRUE(pa.ok());
  return std::move(pa).value();
}

TEST(PageAllocTest, CreateRejectsEmptyAndHugeRanges) {
  EXPECT_EQ(PageAllocator::Create(0, 0).error(), EINVAL);
  EXPECT_EQ(PageAllocator::Create(0, uint64_t{1} << 33).error(), EINVAL);
}

TEST(PageAllocTest, BootCoversRangeWithMaximalBlocks) {
  // 4 MiB-aligned base, 9 MiB + 12 KiB: two order-10 blocks, one order-8, one order-1, one order-0.
  auto pa = Make(0x40000, 2 * 1024 + 256 + 3);
  auto blocks = pa->FreeBlocks();
  EXPECT_EQ(blocks[10], 2u);
  EXPECT_EQ(blocks[8], 1u);
  EXPECT_EQ(blocks[1], 1u);
  EXPECT_EQ(blocks[0], 1u);
  EXPECT_EQ(pa->free_pages(), pa->total_pages());
}

TEST(PageAllocTest, UnalignedBaseUsesAbsoluteAlignment) {
  // Base pfn 3: frames 3, then 4..7 (order 2), then 8..15 (order 3), ...
  auto pa = Make(3, 13);
  auto blocks = pa->FreeBlocks();
  EXPECT_EQ(blocks[0], 1u);  // pfn 3
  EXPECT_EQ(blocks[2], 1u);  // pfn 4..7
  EXPECT_EQ(blocks[3], 1u);  // pfn 8..15
  auto pfn = pa->AllocPages(3);
  ASSERT_TRUE(pfn.ok());
  EXPECT_EQ(*pfn, 8u);
}

TEST(PageAllocTest, SplitGivesLowerHalfAndMergeRestoresBlock) {
  auto pa = Make(0, 1024);  // one order-10 block
  auto pfn = pa->AllocPages(0);
  ASSERT_TRUE(pfn.ok());
  EXPECT_EQ(*pfn, 0u);
  auto blocks = pa->FreeBlocks();
  // Splitting 10 → 0 leaves one free block at each order 0..9.
  for (unsigned order = 0; order < kMaxOrder; ++order) EXPECT_EQ(blocks[order], 1u) << order;
  EXPECT_EQ(blocks[10], 0u);
  EXPECT_EQ(pa->free_pages(), 1023u);
  pa->FreePages(*pfn, 0);
  blocks = pa->FreeBlocks();
  for (unsigned order = 0; order < kMaxOrder; ++order) EXPECT_EQ(blocks[order], 0u) << order;
  EXPECT_EQ(blocks[10], 1u);
}

TEST(PageAllocTest, BlocksAreNaturallyAligned) {
  auto pa = Make(0x10000, 4096);
  for (unsigned order : {0u, 3u, 8u, 4u, 10u, 1u}) {
    auto pfn = pa->AllocPages(order);
    ASSERT_TRUE(pfn.ok());
    EXPECT_EQ(*pfn % (uint64_t{1} << order), 0u) << "order " << order;
  }
}

TEST(PageAllocTest, ExhaustionIsEnomemAndOrderAboveMaxIsEinval) {
  auto pa = Make(0, 8);
  EXPECT_EQ(pa->AllocPages(4).error(), ENOMEM);  // 16 pages > 8
  EXPECT_EQ(pa->AllocPages(kMaxOrder + 1).error(), EINVAL);
  std::vector<uint64_t> got;
  for (int i = 0; i < 8; ++i) {
    auto pfn = pa->AllocPages(0);
    ASSERT_TRUE(pfn.ok());
    got.push_back(*pfn);
  }
  EXPECT_EQ(pa->AllocPages(0).error(), ENOMEM);
  EXPECT_EQ(pa->free_pages(), 0u);
  std::set<uint64_t> unique(got.begin(), got.end());
  EXPECT_EQ(unique.size(), 8u);
  for (uint64_t pfn : got) pa->FreePages(pfn, 0);
  EXPECT_EQ(pa->FreeBlocks()[3], 1u);
}

TEST(PageAllocTest, BuddyOfDifferentOrderDoesNotMerge) {
  auto pa = Make(0, 4);
  auto a = pa->AllocPages(0);  // 0
  auto b = pa->AllocPages(0);  // 1
  auto c = pa->AllocPages(1);  // 2..3
  ASSERT_TRUE(a.ok() && b.ok() && c.ok());
  pa->FreePages(*a, 0);
  // 0 is free at order 0; its buddy 1 is busy: no merge.
  EXPECT_EQ(pa->FreeBlocks()[0], 1u);
  pa->FreePages(*c, 1);
  // 2..3 free at order 1; its buddy 0..1 is not a free order-1 block: no merge.
  EXPECT_EQ(pa->FreeBlocks()[1], 1u);
  pa->FreePages(*b, 0);
  // 1 merges with 0 → order 1 at 0, which merges with 2..3 → order 2.
  auto blocks = pa->FreeBlocks();
  EXPECT_EQ(blocks[0], 0u);
  EXPECT_EQ(blocks[1], 0u);
  EXPECT_EQ(blocks[2], 1u);
}

// Random traces: no block is handed out twice, the free count is exact at every step, and
// freeing everything restores the boot-time free lists.
TEST(PageAllocTest, RandomTraceRestoresInitialState) {
  for (uint64_t base : {uint64_t{0}, uint64_t{5}, uint64_t{0x80000}}) {
    SCOPED_TRACE(base);
    auto pa = Make(base, 6000);
    const auto initial = pa->FreeBlocks();
    std::mt19937 rng(1234);
    std::vector<std::pair<uint64_t, unsigned>> live;
    std::vector<uint8_t> used(6000, 0);
    uint64_t expected_free = 6000;
    for (int step = 0; step < 20000; ++step) {
      if (live.empty() || rng() % 3 != 0) {
        unsigned order = rng() % 6;
        auto pfn = pa->AllocPages(order);
        if (!pfn.ok()) {
          ASSERT_EQ(pfn.error(), ENOMEM);
          continue;
        }
        for (uint64_t p = *pfn; p < *pfn + (1u << order); ++p) {
          ASSERT_GE(p, base);
          ASSERT_LT(p - base, 6000u);
          ASSERT_EQ(used[p - base], 0) << "frame handed out twice";
          used[p - base] = 1;
        }
        live.emplace_back(*pfn, order);
        expected_free -= 1u << order;
      } else {
        size_t i = rng() % live.size();
        auto [pfn, order] = live[i];
        live[i] = live.back();
        live.pop_back();
        for (uint64_t p = pfn; p < pfn + (1u << order); ++p) used[p - base] = 0;
        pa->FreePages(pfn, order);
        expected_free += 1u << order;
      }
      ASSERT_EQ(pa->free_pages(), expected_free);
    }
    for (auto [pfn, order] : live) pa->FreePages(pfn, order);
    EXPECT_EQ(pa->FreeBlocks(), initial);
    EXPECT_EQ(pa->free_pages(), 6000u);
  }
}

TEST(PageAllocTest, ReserveTakesExactlyTheRangeAndNothingElse) {
  for (auto [pfn, count] : {std::pair<uint64_t, uint64_t>{0x40100, 0x8000},
                            {0x40003, 77}, {0x40000, 1}, {0x4ffff, 1}, {0x40400, 0x400}}) {
    SCOPED_TRACE(pfn);
    auto pa = Make(0x40000, 0x10000);
    ASSERT_TRUE(pa->Reserve(pfn, count).ok());
    EXPECT_EQ(pa->free_pages(), 0x10000u - count);
    EXPECT_EQ(pa->Reserve(pfn, 1).error(), EBUSY) << "already reserved";
    // Everything else can still be allocated, and never a reserved frame.
    std::vector<uint64_t> got;
    for (;;) {
      auto p = pa->AllocPages(0);
      if (!p.ok()) break;
      EXPECT_TRUE(*p < pfn || *p >= pfn + count) << *p;
      got.push_back(*p);
    }
    EXPECT_EQ(got.size(), 0x10000u - count);
    for (uint64_t p : got) pa->FreePages(p, 0);
    EXPECT_EQ(pa->free_pages(), 0x10000u - count);
  }
}

TEST(PageAllocTest, ReserveRefusesBusyOrOutsideRangesWithoutChangingAnything) {
  auto pa = Make(0x40000, 4096);
  auto block = pa->AllocPages(4);
  ASSERT_TRUE(block.ok());
  const auto before = pa->FreeBlocks();
  EXPECT_EQ(pa->Reserve(*block + 3, 100).error(), EBUSY);
  EXPECT_EQ(pa->FreeBlocks(), before);
  EXPECT_EQ(pa->Reserve(0x3ffff, 2).error(), EINVAL);
  EXPECT_EQ(pa->Reserve(0x40000 + 4095, 2).error(), EINVAL);
  EXPECT_EQ(pa->Reserve(0x40000, 0).error(), EINVAL);
  EXPECT_EQ(pa->free_pages(), 4096u - 16u);
}

}  // namespace
}  // namespace dmaheap
