#include <gtest/gtest.h>

#include "dmaheap/kapi.h"

namespace {

TEST(GenPoolTest, FirstFitOverChunksWithItsGranularity) {
  gen_pool* pool = gen_pool_create(12, -1);
  ASSERT_NE(pool, nullptr);
  EXPECT_EQ(gen_pool_add(pool, 0x60000000, 0x10000, -1), 0);  // 16 pages
  EXPECT_EQ(gen_pool_add(pool, 0x70000000, 0x4000, -1), 0);   // 4 pages
  EXPECT_EQ(gen_pool_add(pool, 0x70100800, 0x1000, -1), -EINVAL) << "off the 4 KiB granule";
  EXPECT_EQ(gen_pool_add(pool, 0x70200000, 0, -1), -EINVAL);
  EXPECT_EQ(gen_pool_size(pool), 0x14000u);
  EXPECT_EQ(gen_pool_avail(pool), 0x14000u);

  EXPECT_EQ(gen_pool_alloc(pool, 0x8000), 0x60000000u);
  EXPECT_EQ(gen_pool_alloc(pool, 100), 0x60008000u) << "rounded up to one granule";
  EXPECT_EQ(gen_pool_alloc(pool, 0x8000), 0u)
      << "7 pages left in the first chunk, 4 in the second: no room for 8";
  EXPECT_EQ(gen_pool_alloc(pool, 0x4000), 0x60009000u) << "first fit: still the first chunk";
  EXPECT_EQ(gen_pool_alloc(pool, 0x4000), 0x70000000u) << "3 pages left there: the next chunk";
  EXPECT_EQ(gen_pool_avail(pool), 0x3000u);
  gen_pool_free(pool, 0x60000000, 0x8000);
  EXPECT_EQ(gen_pool_alloc(pool, 0x2000), 0x60000000u) << "first fit reuses the hole";
  EXPECT_EQ(gen_pool_avail(pool), 0x9000u);
  gen_pool_free(pool, 0x60000000, 0x2000);
  gen_pool_free(pool, 0x60009000, 0x4000);
  gen_pool_free(pool, 0x60008000, 100);
  gen_pool_free(pool, 0x70000000, 0x4000);
  EXPECT_EQ(gen_pool_avail(pool), 0x14000u);
  EXPECT_EQ(gen_pool_alloc(pool, 0), 0u);
  gen_pool_destroy(pool);
  EXPECT_EQ(gen_pool_create(-1, -1), nullptr);
}

}  // namespace
