// The IOVA allocator against what drivers/iommu/iova.c computes: top-down from the limit, each
// range aligned to its size rounded up to a power of two, small sizes padded, pfn 0 never used.

#include "dma/iova.h"

#include <gtest/gtest.h>

#include "dma/test_ok.h"

namespace dmaheap {
namespace {

constexpr uint64_t kPage = 4096;

TEST(IovaTest, FirstRangesComeFromTheTopOfTheSpaceAlignedToTheirSize) {
  IovaDomain domain(32, kPage);
  EXPECT_EQ(Ok(domain.Alloc(kPage, 0xffffffff)), 0xfffff000u);
  EXPECT_EQ(Ok(domain.Alloc(kPage, 0xffffffff)), 0xffffe000u);
  // 3 pages are padded to 4 (alloc_iova_fast) and 4-page aligned: below 0xffffe000.
  EXPECT_EQ(Ok(domain.Alloc(3 * kPage, 0xffffffff)), 0xffff8000u);
  EXPECT_EQ(domain.bytes_in_use(), 6 * kPage);
  // 33 pages: not padded (32 or more), but aligned to 64 pages; it occupies 33.
  const uint64_t big = Ok(domain.Alloc(33 * kPage, 0xffffffff));
  EXPECT_EQ(big, 0xfffc0000u) << "(0xffff8000 - 33 pages) rounded down to 64 pages";
  EXPECT_EQ(big % (64 * kPage), 0u);
  EXPECT_EQ(domain.bytes_in_use(), 39 * kPage);
}

TEST(IovaTest, TheCallersLimitCapsTheSearch) {
  IovaDomain domain(32, kPage);
  // venus's mask: 0xdfffffff.
  EXPECT_EQ(Ok(domain.Alloc(kPage, 0xdfffffff)), 0xdffff000u);
  EXPECT_EQ(Ok(domain.Alloc(kPage, 0xffffffffffffffff)), 0xfffff000u)
      << "a limit past the space is the space's end";
}

TEST(IovaTest, FreedRangesAreReusedAndExhaustionIsEnomem) {
  IovaDomain domain(20, kPage);  // 1 MiB: 256 pages, pfn 0 excluded
  EXPECT_EQ(domain.Alloc(uint64_t{1} << 20, ~uint64_t{0}).error(), ENOMEM)
      << "pfn 0 is never handed out, so the whole space cannot be";
  const uint64_t half = Ok(domain.Alloc(512 << 10, ~uint64_t{0}));
  EXPECT_EQ(half, 0x80000u);
  EXPECT_EQ(domain.Alloc(512 << 10, ~uint64_t{0}).error(), ENOMEM);
  EXPECT_EQ(Ok(domain.Alloc(256 << 10, ~uint64_t{0})), 0x40000u) << "the gap below";
  domain.Free(half);
  EXPECT_EQ(Ok(domain.Alloc(512 << 10, ~uint64_t{0})), 0x80000u);
  EXPECT_EQ(domain.Alloc(0, ~uint64_t{0}).error(), EINVAL);
}

}  // namespace
}  // namespace dmaheap
