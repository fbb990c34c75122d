#include "mm/contiguous.h"

#include <gtest/gtest.h>

#include <string>

namespace dmaheap {
namespace {

TEST(MemParseTest, NumbersAndSuffixesAsTheKernel) {
  struct {
    const char* text;
    uint64_t value;
    size_t used;
  } const rows[] = {
      {"64M", 64ull << 20, 3},  {"128m", 128ull << 20, 4}, {"1G", 1ull << 30, 2},
      {"512K", 512ull << 10, 4}, {"4096", 4096, 4},         {"0x1000", 4096, 6},
      {"0x40000000", 1ull << 30, 10}, {"010", 8, 3},         {"0", 0, 1},
      {"2T", 2ull << 40, 2},    {"1E", 1ull << 60, 2},     {"16Mx", 16ull << 20, 3},
      {"M", 0, 0},              {"", 0, 0},
  };
  for (const auto& row : rows) {
    SCOPED_TRACE(row.text);
    size_t used = 99;
    EXPECT_EQ(MemParse(row.text, &used), row.value);
    EXPECT_EQ(used, row.used);
  }
}

TEST(CmaArgumentTest, SizeStartAndEnd) {
  auto a = ParseCmaArgument("64M");
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->size, 64ull << 20);
  EXPECT_EQ(a->base, 0u);
  EXPECT_EQ(a->limit, 0u);

  auto fixed = ParseCmaArgument("64M@0x50000000");
  ASSERT_TRUE(fixed.ok());
  EXPECT_EQ(fixed->base, 0x50000000u);
  EXPECT_EQ(fixed->limit, 0x50000000u + (64u << 20)) << "@start alone fixes the placement";

  auto range = ParseCmaArgument("256M@1G-2G");
  ASSERT_TRUE(range.ok());
  EXPECT_EQ(range->size, 256ull << 20);
  EXPECT_EQ(range->base, 1ull << 30);
  EXPECT_EQ(range->limit, 2ull << 30);

  auto none = ParseCmaArgument("0");
  ASSERT_TRUE(none.ok());
  EXPECT_EQ(none->size, 0u) << "cma=0 disables the default area";
}

TEST(CmaArgumentTest, BadArgumentsAreNamed) {
  for (const char* bad : {"", "M", "64Q", "64M@", "64M@x", "64M@1G-", "64M@1G-2Gx", "64M 1G"}) {
    SCOPED_TRACE(bad);
    testing::internal::CaptureStderr();
    auto r = ParseCmaArgument(bad);
    const std::string err = testing::internal::GetCapturedStderr();
    EXPECT_EQ(r.error(), EINVAL);
    EXPECT_NE(err.find(std::string("cma=") + bad + ":"), std::string::npos) << err;
  }
}

}  // namespace
}  // namespace dmaheap

namespace dmaheap {
namespace {

TEST(StrictSizeTest, DecimalWithOneSuffixAndNoOverflow) {
  uint64_t v = 0;
  EXPECT_TRUE(ParseStrictSize("4096", &v));
  EXPECT_EQ(v, 4096u);
  EXPECT_TRUE(ParseStrictSize("16M", &v));
  EXPECT_EQ(v, 16u << 20);
  EXPECT_TRUE(ParseStrictSize("2g", &v));
  EXPECT_EQ(v, uint64_t{2} << 30);
  EXPECT_TRUE(ParseStrictSize("0", &v));
  EXPECT_EQ(v, 0u);
  EXPECT_TRUE(ParseStrictSize("18446744073709551615", &v));
  EXPECT_EQ(v, UINT64_MAX);
  EXPECT_TRUE(ParseStrictSize("16777215T", &v));
  EXPECT_EQ(v, uint64_t{16777215} << 40);
  for (const char* bad : {"", "M", "0x10", "-1", "+1", " 1", "1 ", "1MB", "1.5M", "1KM",
                          "18446744073709551616", "16777216T", "99999999999999999999K", "1E"}) {
    EXPECT_FALSE(ParseStrictSize(bad, &v)) << bad;
  }
}

}  // namespace
}  // namespace dmaheap
