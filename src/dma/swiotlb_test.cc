// The swiotlb pool against kernel/dma/swiotlb.c: 2 KiB slots, runs inside 128-slot segments,
// page-aligned slots for a page or more, 256 KiB at most, and its "full" warning.

#include "dma/swiotlb.h"

#include <gtest/gtest.h>

#include "dma/test_ok.h"

namespace dmaheap {
namespace {

constexpr uint64_t kBase = 0xf0000000;

TEST(SwiotlbTest, SlotsArePageAlignedForPagesAndStayInsideASegment) {
  Swiotlb pool({kBase, 1 << 20, false});  // 512 slots
  ASSERT_TRUE(pool.active());
  EXPECT_EQ(pool.total_slots(), 512u);
  EXPECT_EQ(Ok(pool.Map(4096, "dev")), kBase);
  EXPECT_EQ(Ok(pool.Map(2048, "dev")), kBase + 4096) << "under a page: any slot";
  EXPECT_EQ(Ok(pool.Map(4096, "dev")), kBase + 8192) << "a page: the next page-aligned slot";
  EXPECT_EQ(pool.used_slots(), 5u);
  // 256 KiB = 128 slots: only a whole segment holds it.
  const uint64_t seg = Ok(pool.Map(256 << 10, "dev"));
  EXPECT_EQ(seg, kBase + 128 * 2048);
  pool.Unmap(seg);
  pool.Unmap(kBase);
  EXPECT_EQ(pool.used_slots(), 3u);
}

TEST(SwiotlbTest, TooLargeOrFullIsEioWithTheKernelsWarning) {
  Swiotlb pool({kBase, 256 << 10, false});  // one segment
  testing::internal::CaptureStderr();
  EXPECT_EQ(pool.Map((256 << 10) + 4096, "codec").error(), EIO);
  EXPECT_EQ(testing::internal::GetCapturedStderr(),
            "dmaheap: codec: swiotlb buffer is full (sz: 266240 bytes), total 128 (slots), used 0 "
            "(slots)\n");
  const uint64_t all = Ok(pool.Map(256 << 10, "codec"));
  testing::internal::CaptureStderr();
  EXPECT_EQ(pool.Map(2048, "codec").error(), EIO);
  EXPECT_NE(testing::internal::GetCapturedStderr().find("used 128 (slots)"), std::string::npos);
  pool.Unmap(all);
  EXPECT_TRUE(pool.Map(2048, "codec").ok());
}

TEST(SwiotlbTest, NoPoolIsInactive) {
  Swiotlb pool({});
  EXPECT_FALSE(pool.active());
  testing::internal::CaptureStderr();
  EXPECT_EQ(pool.Map(4096, "dev").error(), EIO);
  testing::internal::GetCapturedStderr();
}

}  // namespace
}  // namespace dmaheap
