// The daemon's limits as the core call sees them: a uid's bytes and a heap's bytes, checked
// after the kernel's validation, ENOMEM past either, counted and logged once per uid, and
// given back as buffers are released. Buffers come from the heap layer's test harness.
#include "service/limits.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "heap/test_heap.h"

namespace dmaheap {
namespace {

using testing_util::HeapHarness;

class LimitsTest : public ::testing::Test {
 protected:
  LimitsTest() : limits_(Config(), harness_.buffers()) {}
  static LimitConfig Config() {
    LimitConfig c;
    c.uid_bytes = 16384;
    c.heap_bytes["test"] = 32768;
    return c;
  }
  Result<Allocation> Alloc(uid_t uid, uint64_t len) {
    AllocRequest r;
    r.heap = &harness_.heap();
    r.len = len;
    r.owner = Owner{1, uid, uid};
    r.admission = &limits_;
    return DmaHeapAllocate(r);
  }

  HeapHarness harness_;
  AllocLimits limits_;
};

TEST_F(LimitsTest, AUidPastItsLimitGetsEnomemCountedAndLoggedOnce) {
  std::vector<Allocation> held;
  for (int i = 0; i < 4; ++i) held.push_back(std::move(Alloc(1000, 4096)).value());
  testing::internal::CaptureStderr();
  EXPECT_EQ(Alloc(1000, 1).error(), ENOMEM) << "a byte rounds up to a page: over";
  EXPECT_EQ(Alloc(1000, 4096).error(), ENOMEM);
  const std::string log = testing::internal::GetCapturedStderr();
  EXPECT_EQ(log,
            "dmaheapd: uid 1000: ALLOC of 4096 bytes from test refused (ENOMEM): its 4 buffer(s) "
            "hold 16384 bytes of its --uid-limit 16384 (logged once)\n");
  EXPECT_EQ(harness_.heap().counters().failures.load(), 2u);
  // The kernel's validation comes first: len 0 is EINVAL, not a limit.
  EXPECT_EQ(Alloc(1000, 0).error(), EINVAL);
  // A length near 2^64 does not wrap past the check.
  EXPECT_EQ(Alloc(1000, uint64_t{1} << 63).error(), ENOMEM);
  EXPECT_EQ(limits_.StatsText(),
            "uid 1000 buffers 4 bytes 16384 limit 16384 denied 3 "
            "buffer_limit 0 connections 0 connection_limit 0 refused 0\n"
            "limit heap test bytes 32768 denied 0\n");
  // Another uid has its own allowance.
  Result<Allocation> other = Alloc(1001, 16384);
  EXPECT_TRUE(other.ok());
}

TEST_F(LimitsTest, ReleasedBuffersAreGivenBack) {
  Result<Allocation> big = Alloc(1000, 16384);
  ASSERT_TRUE(big.ok());
  EXPECT_EQ(Alloc(1000, 4096).error(), ENOMEM);
  big = Errno(EBADF);  // its fd closes: the buffer is released
  harness_.buffers().ProcessReleases();
  EXPECT_EQ(harness_.buffers().UsageOf(1000).bytes, 0u);
  Result<Allocation> again = Alloc(1000, 4096);
  EXPECT_TRUE(again.ok());
  EXPECT_EQ(limits_.StatsText(),
            "uid 1000 buffers 1 bytes 4096 limit 16384 denied 1 "
            "buffer_limit 0 connections 0 connection_limit 0 refused 0\n"
            "limit heap test bytes 32768 denied 0\n");
}

TEST_F(LimitsTest, AFullHeapRefusesEveryUidNamingItsLimit) {
  Result<Allocation> a = Alloc(1000, 16384);
  Result<Allocation> b = Alloc(1001, 16384);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(harness_.heap().counters().live_bytes.load(), 32768u);
  testing::internal::CaptureStderr();
  EXPECT_EQ(Alloc(1002, 4096).error(), ENOMEM);
  EXPECT_EQ(testing::internal::GetCapturedStderr(),
            "dmaheapd: uid 1002: ALLOC of 4096 bytes from test refused (ENOMEM): the heap holds "
            "32768 bytes of its --heap-limit test=32768 (logged once)\n");
  EXPECT_EQ(limits_.StatsText(),
            "uid 1000 buffers 1 bytes 16384 limit 16384 denied 0 "
            "buffer_limit 0 connections 0 connection_limit 0 refused 0\n"
            "uid 1001 buffers 1 bytes 16384 limit 16384 denied 0 "
            "buffer_limit 0 connections 0 connection_limit 0 refused 0\n"
            "uid 1002 buffers 0 bytes 0 limit 16384 denied 1 "
            "buffer_limit 0 connections 0 connection_limit 0 refused 0\n"
            "limit heap test bytes 32768 denied 1\n");
}

TEST(LimitsParseTest, SizesAreStrictAndAboveZero) {
  EXPECT_EQ(ParseLimitSize("--uid-limit", "512M").value(), uint64_t{512} << 20);
  EXPECT_EQ(ParseLimitSize("--uid-limit", "2G").value(), uint64_t{2} << 30);
  EXPECT_EQ(ParseLimitSize("--uid-limit", "4096").value(), 4096u);
  for (const char* bad : {"", "0", "12Q", "M", "-1", "1G ", "0x1000", "99999999999999999999"}) {
    SCOPED_TRACE(bad);
    testing::internal::CaptureStderr();
    EXPECT_EQ(ParseLimitSize("--uid-limit", bad).error(), EINVAL);
    EXPECT_EQ(testing::internal::GetCapturedStderr(),
              std::string("dmaheapd: --uid-limit ") + bad +
                  ": expected a size above 0 (e.g. 512M, 2G)\n");
  }
  const auto heap = ParseHeapLimit("linux,cma=64M");
  ASSERT_TRUE(heap.ok());
  EXPECT_EQ(heap->first, "linux,cma");
  EXPECT_EQ(heap->second, uint64_t{64} << 20);
  for (const char* bad : {"system", "=64M", "system=", "system=0", "system=64X"}) {
    SCOPED_TRACE(bad);
    testing::internal::CaptureStderr();
    EXPECT_EQ(ParseHeapLimit(bad).error(), EINVAL);
    EXPECT_NE(testing::internal::GetCapturedStderr().find(std::string("--heap-limit ") + bad +
                                                          ": expected NAME=SIZE"),
              std::string::npos);
  }
}

}  // namespace
}  // namespace dmaheap
