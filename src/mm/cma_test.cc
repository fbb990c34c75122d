// CmaArea against a straightforward model of the kernel's cma_alloc (mm/cma.c with
// lib/bitmap.c's bitmap_find_next_zero_area_off, one bool per bit), on random traces.

#include "mm/cma.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>

namespace dmaheap {
namespace {

// The kernel algorithm, bit by bit, as written in mm/cma.c and lib/bitmap.c.
struct ReferenceCma {
  uint64_t base_pfn, count;
  unsigned order_per_bit;
  std::vector<bool> bits;

  ReferenceCma(uint64_t base, uint64_t n, unsigned opb)
      : base_pfn(base), count(n), order_per_bit(opb), bits(n >> opb, false) {}

  uint64_t FindNext(uint64_t size, uint64_t start, bool value) const {
    for (uint64_t i = start; i < size; ++i) {
      if (bits[i] == value) return i;
    }
    return size;
  }
  // Returns the pfn, or UINT64_MAX for NULL.
  uint64_t Alloc(uint64_t n, unsigned align) {
    const uint64_t mask = align <= order_per_bit ? 0 : (uint64_t{1} << (align - order_per_bit)) - 1;
    const uint64_t offset = (base_pfn & ((uint64_t{1} << align) - 1)) >> order_per_bit;
    const uint64_t maxno = count >> order_per_bit;
    const uint64_t nr = ((n + (uint64_t{1} << order_per_bit) - 1) >> order_per_bit);
    if (nr > maxno) return UINT64_MAX;
    uint64_t start = 0;
    for (;;) {
      uint64_t index = FindNext(maxno, start, false);
      index = ((index + offset + mask) & ~mask) - offset;
      const uint64_t end = index + nr;
      if (end > maxno) return UINT64_MAX;
      const uint64_t i = FindNext(end, index, true);
      if (i < end) {
        start = i + 1;
        continue;
      }
      for (uint64_t b = index; b < end; ++b) bits[b] = true;
      return base_pfn + (index << order_per_bit);
    }
  }
  void Release(uint64_t pfn, uint64_t n) {
    const uint64_t first = (pfn - base_pfn) >> order_per_bit;
    const uint64_t nr = (n + (uint64_t{1} << order_per_bit) - 1) >> order_per_bit;
    for (uint64_t b = first; b < first + nr; ++b) bits[b] = false;
  }
};

struct TraceCase {
  uint64_t base_pfn;
  uint64_t count;
  unsigned order_per_bit;
};

class CmaTraceTest : public ::testing::TestWithParam<TraceCase> {};

TEST_P(CmaTraceTest, MatchesTheKernelAlgorithmOnRandomTraces) {
  const TraceCase c = GetParam();
  auto area = std::move(CmaArea::Create("test", c.base_pfn, c.count, c.order_per_bit)).value();
  ReferenceCma ref(c.base_pfn, c.count, c.order_per_bit);
  std::mt19937_64 rng(0xC0FFEE + c.order_per_bit);
  std::vector<std::pair<uint64_t, uint64_t>> live;
  int allocs = 0, failures = 0;
  for (int step = 0; step < 6000; ++step) {
    if (live.empty() || rng() % 5 < 3) {
      // Mostly small requests, some large; alignments 0..9 (the heap caps at 8).
      const uint64_t n = rng() % 8 == 0 ? 1 + rng() % (c.count / 4) : 1 + rng() % 40;
      const auto align = static_cast<unsigned>(rng() % 10);
      const uint64_t want = ref.Alloc(n, align);
      Result<uint64_t> got = area->Alloc(n, align);
      if (want == UINT64_MAX) {
        ASSERT_FALSE(got.ok()) << "step " << step;
        ASSERT_EQ(got.error(), ENOMEM);
        ++failures;
      } else {
        ASSERT_TRUE(got.ok()) << "step " << step;
        ASSERT_EQ(*got, want) << "step " << step << " n " << n << " align " << align;
        ASSERT_EQ(*got % (uint64_t{1} << std::max(align, c.order_per_bit)) == 0 ||
                      align <= c.order_per_bit,
                  true);
        live.emplace_back(*got, n);
        ++allocs;
      }
    } else {
      const size_t i = rng() % live.size();
      ASSERT_TRUE(area->Release(live[i].first, live[i].second));
      ref.Release(live[i].first, live[i].second);
      live[i] = live.back();
      live.pop_back();
    }
  }
  EXPECT_GT(allocs, 1000);
  EXPECT_GT(failures, 0) << "the trace must reach exhaustion too";
  uint64_t used = 0;
  for (bool b : ref.bits) used += b;
  EXPECT_EQ(area->used(), used << c.order_per_bit);
  for (auto [pfn, n] : live) ASSERT_TRUE(area->Release(pfn, n));
  EXPECT_EQ(area->used(), 0u);
  EXPECT_EQ(area->maxchunk(), c.count);
}

INSTANTIATE_TEST_SUITE_P(Areas, CmaTraceTest,
                         ::testing::Values(TraceCase{0x40000, 4096, 0},
                                           TraceCase{0x40003, 4096 + 1, 0},
                                           TraceCase{0x40002, 2048, 1}, TraceCase{0x12348, 8192, 3},
                                           TraceCase{0x80000, 1024, 4}));

TEST(CmaTest, SixteenEightMiBBuffersFillA128MiBArea) {
  // kernel-facts.md §12: 16 × 8 MiB succeed, the 17th is ENOMEM; releasing makes used 0.
  auto area = std::move(CmaArea::Create("reserved", 0x48000, 32768, 0)).value();
  std::vector<uint64_t> pfns;
  for (int i = 0; i < 16; ++i) {
    auto pfn = area->Alloc(2048, 8);  // get_order(8 MiB) = 11, capped at CMA_ALIGNMENT 8
    ASSERT_TRUE(pfn.ok()) << i;
    EXPECT_EQ(*pfn % 256, 0u);
    pfns.push_back(*pfn);
  }
  EXPECT_EQ(area->Alloc(2048, 8).error(), ENOMEM);
  EXPECT_EQ(area->used(), 32768u);
  EXPECT_EQ(area->maxchunk(), 0u);
  for (uint64_t pfn : pfns) EXPECT_TRUE(area->Release(pfn, 2048));
  EXPECT_EQ(area->used(), 0u);
}

TEST(CmaTest, ReleaseOutsideTheAreaIsRefused) {
  auto area = std::move(CmaArea::Create("a", 1024, 1024, 0)).value();
  auto pfn = area->Alloc(16, 0);
  ASSERT_TRUE(pfn.ok());
  EXPECT_FALSE(area->Release(1023, 1));   // before the area
  EXPECT_FALSE(area->Release(2048, 1));   // just past it
  EXPECT_FALSE(area->Release(2040, 16));  // runs past the end
  EXPECT_FALSE(area->Release(*pfn, 0));
  EXPECT_EQ(area->used(), 16u) << "refused releases change nothing";
  EXPECT_TRUE(area->Release(*pfn, 16));
  EXPECT_EQ(area->Alloc(0, 0).error(), EINVAL);
  EXPECT_EQ(area->Alloc(1025, 0).error(), ENOMEM);
  EXPECT_EQ(CmaArea::Create("bad", 0, 0, 0).error(), EINVAL);
  EXPECT_EQ(CmaArea::Create("bad", 1, 8, 1).error(), EINVAL) << "base not a whole chunk";
}

// A restarted daemon takes back exactly the pages its predecessor's buffers hold: the bitmap is
// then what it was, whatever order the claims come in.
TEST(CmaTest, ClaimTakesExactPagesAndRefusesTakenOnes) {
  auto before = std::move(CmaArea::Create("a", 0x1000, 256, 0)).value();
  const uint64_t a = before->Alloc(16, 4).value();
  const uint64_t b = before->Alloc(3, 0).value();
  const uint64_t c = before->Alloc(32, 5).value();
  before->Release(b, 3);
  auto after = std::move(CmaArea::Create("a", 0x1000, 256, 0)).value();
  EXPECT_TRUE(after->Claim(c, 32).ok());
  EXPECT_TRUE(after->Claim(a, 16).ok());
  EXPECT_EQ(after->BitmapWords(), before->BitmapWords());
  EXPECT_EQ(after->used(), 48u);
  EXPECT_EQ(after->Claim(a + 15, 2).error(), EBUSY) << "overlaps a claimed page";
  EXPECT_EQ(after->used(), 48u) << "nothing changed";
  EXPECT_EQ(after->Claim(0xfff, 1).error(), EINVAL) << "before the area";
  EXPECT_EQ(after->Claim(0x1000 + 255, 2).error(), EINVAL) << "runs past its end";
  EXPECT_EQ(after->Claim(0x1000, 0).error(), EINVAL);
  EXPECT_TRUE(after->Release(a, 16));
  EXPECT_EQ(after->used(), 32u) << "a claimed range is released like an allocated one";
}

TEST(CmaTest, BitmapAndMaxchunkAsDebugfsShowsThem) {
  auto area = std::move(CmaArea::Create("a", 0, 64, 0)).value();
  ASSERT_TRUE(area->Alloc(3, 0).ok());  // bits 0..2
  ASSERT_TRUE(area->Alloc(1, 3).ok());  // bit 8 (aligned to 8)
  const auto words = area->BitmapWords();
  ASSERT_EQ(words.size(), 2u);
  EXPECT_EQ(words[0], 0x107u);
  EXPECT_EQ(words[1], 0u);
  EXPECT_EQ(area->used(), 4u);
  EXPECT_EQ(area->maxchunk(), 64u - 9u);
}

}  // namespace
}  // namespace dmaheap
