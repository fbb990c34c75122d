#include "mm/genalloc.h"

#include <gtest/gtest.h>

namespace dmaheap {
namespace {

TEST(GenPoolTest, FirstFitOverChunksWithItsGranularity) {
  std::unique_ptr<GenPool> pool = std::move(GenPool::Create(12)).value();
  ASSERT_TRUE(pool->Add(0x60000000, 0x10000).ok());  // 16 pages
  ASSERT_TRUE(pool->Add(0x70000000, 0x4000).ok());   // 4 pages
  EXPECT_EQ(pool->Add(0x70100800, 0x1000).error(), EINVAL) << "off the 4 KiB granule";
  EXPECT_EQ(pool->Add(0x70200000, 0).error(), EINVAL);
  EXPECT_EQ(pool->size(), 0x14000u);
  EXPECT_EQ(pool->avail(), 0x14000u);

  EXPECT_EQ(pool->Alloc(0x8000).value(), 0x60000000u);
  EXPECT_EQ(pool->Alloc(100).value(), 0x60008000u) << "rounded up to one granule";
  EXPECT_EQ(pool->Alloc(0x8000).error(), ENOMEM)
      << "7 pages left in the first chunk, 4 in the second: no room for 8";
  EXPECT_EQ(pool->Alloc(0x4000).value(), 0x60009000u) << "first fit: still the first chunk";
  EXPECT_EQ(pool->Alloc(0x4000).value(), 0x70000000u) << "3 pages left there: the next chunk";
  EXPECT_EQ(pool->avail(), 0x3000u);
  pool->Free(0x60000000, 0x8000);
  EXPECT_EQ(pool->Alloc(0x2000).value(), 0x60000000u) << "first fit reuses the hole";
  EXPECT_EQ(pool->avail(), 0x9000u);
  pool->Free(0x60000000, 0x2000);
  pool->Free(0x60009000, 0x4000);
  pool->Free(0x60008000, 100);
  pool->Free(0x70000000, 0x4000);
  EXPECT_EQ(pool->avail(), 0x14000u);
  EXPECT_EQ(pool->Alloc(0).error(), EINVAL);
}

TEST(GenPoolTest, OrderOutsideTheKernelsRangeIsRefused) {
  EXPECT_EQ(GenPool::Create(-1).error(), EINVAL);
  EXPECT_EQ(GenPool::Create(31).error(), EINVAL);
  EXPECT_TRUE(GenPool::Create(0).ok());
  EXPECT_TRUE(GenPool::Create(30).ok());
}

TEST(GenPoolTest, ClaimTakesBackExactGranulesAndPoolsAreFoundByAddress) {
  auto pool = std::move(GenPool::Create(12)).value();
  ASSERT_TRUE(pool->Add(0x60000000, 1 << 20).ok());
  EXPECT_TRUE(pool->Claim(0x60010000, 0x3000).ok());
  EXPECT_EQ(pool->avail(), (1u << 20) - 0x3000);
  EXPECT_EQ(pool->Claim(0x60012000, 0x1000).error(), EBUSY);
  EXPECT_EQ(pool->Claim(0x70000000, 0x1000).error(), EINVAL) << "no chunk holds it";
  EXPECT_EQ(pool->Claim(0x60000800, 0x1000).error(), EINVAL) << "off the granule";
  EXPECT_EQ(GenPool::PoolsContaining(0x600ff000), std::vector<GenPool*>{pool.get()});
  EXPECT_TRUE(GenPool::PoolsContaining(0x60100000).empty());
  pool->Free(0x60010000, 0x3000);
  EXPECT_EQ(pool->avail(), 1u << 20) << "a claimed range frees like an allocated one";
  GenPool* gone = pool.get();
  pool.reset();
  for (GenPool* p : GenPool::PoolsContaining(0x60000000)) EXPECT_NE(p, gone);
}

}  // namespace
}  // namespace dmaheap
