// lib/genalloc.c's C API as modules call it: the kernel's return conventions over GenPool
// (whose algorithm mm/genalloc_test.cc covers).
#include <gtest/gtest.h>

#include "dmaheap/kapi.h"

namespace {

TEST(KapiGenPoolTest, ZeroAndNullMeanFailureAsInTheKernel) {
  EXPECT_EQ(gen_pool_create(-1, -1), nullptr);
  gen_pool* pool = gen_pool_create(12, -1);
  ASSERT_NE(pool, nullptr);
  EXPECT_EQ(gen_pool_add(pool, 0x60000000, 0x4000, -1), 0);
  EXPECT_EQ(gen_pool_add(pool, 0x60100800, 0x1000, -1), -EINVAL);
  EXPECT_EQ(gen_pool_alloc(pool, 0x2000), 0x60000000u);
  EXPECT_EQ(gen_pool_alloc(pool, 0x4000), 0u) << "no room: 0, as gen_pool_alloc says it";
  EXPECT_EQ(gen_pool_alloc(pool, 0), 0u);
  EXPECT_EQ(gen_pool_avail(pool), 0x2000u);
  EXPECT_EQ(gen_pool_size(pool), 0x4000u);
  gen_pool_free(pool, 0x60000000, 0x2000);
  EXPECT_EQ(gen_pool_avail(pool), 0x4000u);
  gen_pool_destroy(pool);

  EXPECT_EQ(gen_pool_add(nullptr, 0x60000000, 0x1000, -1), -EINVAL);
  EXPECT_EQ(gen_pool_alloc(nullptr, 0x1000), 0u);
  EXPECT_EQ(gen_pool_avail(nullptr), 0u);
  EXPECT_EQ(gen_pool_size(nullptr), 0u);
  gen_pool_free(nullptr, 0x60000000, 0x1000);
  gen_pool_destroy(nullptr);
}

}  // namespace
