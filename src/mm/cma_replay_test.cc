// CMA traces: the kernel's two text formats read as a device prints them, and replays whose
// answers were worked out by hand from cma_alloc's first fit (bitmap_find_next_zero_area_off:
// the lowest free run whose start, counted in absolute pfns, is aligned to 2^align pages).

#include "mm/cma_replay.h"

#include <gtest/gtest.h>

#include <string>

#include "mm/cma_trace.h"

namespace dmaheap {
namespace {

constexpr char kHead[] =
    "# tracer: nop\n"
    "#\n"
    "# entries-in-buffer/entries-written: 13/13   #P:8\n"
    "#\n"
    "#           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION\n"
    "#              | |         |   |||||     |         |\n";

// The area of the hand-worked cases: 16 pages at pfn 0x1000.
CmaGeometry Area(uint64_t pages = 16) { return CmaGeometry{"linux,cma", 0x1000, pages, 0}; }

std::string Alloc(const char* task, uint64_t pfn, int count, int align, int err = 0) {
  char line[256];
  std::snprintf(line, sizeof(line),
                "  %s     [002] .....   100.%06d: cma_alloc_finish: name=linux,cma pfn=0x%llx "
                "page=fffffc0000040000 count=%d align=%d errorno=%d\n",
                task, count * 10 + align, static_cast<unsigned long long>(pfn), count, align, err);
  return line;
}

std::string Release(const char* task, uint64_t pfn, int count) {
  char line[256];
  std::snprintf(line, sizeof(line),
                "  %s     [001] d..1.   101.000000: cma_release: name=linux,cma pfn=0x%llx "
                "page=fffffc0000040000 count=%d\n",
                task, static_cast<unsigned long long>(pfn), count);
  return line;
}

std::vector<CmaTraceEvent> Parse(const std::string& text) {
  std::string error;
  Result<std::vector<CmaTraceEvent>> events = ParseCmaTrace(text, &error);
  EXPECT_TRUE(events.ok()) << error;
  return events.ok() ? std::move(events).value() : std::vector<CmaTraceEvent>{};
}

// Four 4-page buffers fill the area; the first and third go; an 8-page buffer (align 3) then
// fails with 8 of 16 pages in use — the holes are 4 pages each. On the device it succeeded
// elsewhere, so 16 pages were requested at once at most.
std::string FragmentingTrace() {
  return std::string(kHead) + Alloc("camera-provider-612", 0x2000, 4, 2) +
         Alloc("camera-provider-612", 0x2004, 4, 2) +
         "  kworker/u16:3-88      [000] .....   100.500000: kmalloc: call_site=x ptr=y\n" +
         Alloc("surfaceflinger-540", 0x2008, 4, 2) + Alloc("surfaceflinger-540", 0x200c, 4, 2) +
         Release("camera-provider-612", 0x2000, 4) + Release("surfaceflinger-540", 0x2008, 4) +
         Alloc("media.codec-1201", 0x2010, 8, 3) + Release("media.codec-1201", 0x2010, 8);
}

TEST(CmaTraceTest, ReadsTheNewFormatAndSkipsTheRest) {
  std::vector<CmaTraceEvent> events = Parse(
      std::string(kHead) +
      " camera-provider-612     [003] .....   100.000001: cma_alloc_start: name=linux,cma "
      "count=4 align=2\n" +
      Alloc("camera-provider-612", 0x2000, 4, 2) +
      "  <idle>-0       [000] d.h2.   100.100000: irq_handler_entry: irq=5 name=arch_timer\n" +
      Alloc("camera-provider-612", 0, 4, 2, -12) + Release("camera-provider-612", 0x2000, 4));
  ASSERT_EQ(events.size(), 4u);
  EXPECT_EQ(events[0].kind, CmaTraceEvent::Kind::kAllocStart);
  EXPECT_EQ(events[0].line, 7u);
  EXPECT_EQ(events[1].kind, CmaTraceEvent::Kind::kAlloc);
  EXPECT_EQ(events[1].task, "camera-provider");
  EXPECT_EQ(events[1].pid, 612);
  EXPECT_EQ(events[1].area, "linux,cma");
  EXPECT_EQ(events[1].pfn, 0x2000u);
  EXPECT_EQ(events[1].count, 4u);
  EXPECT_EQ(events[1].align, 2u);
  EXPECT_TRUE(events[1].ok);
  EXPECT_DOUBLE_EQ(events[1].timestamp, 100.000042);
  EXPECT_FALSE(events[2].ok) << "errorno=-12";
  EXPECT_EQ(events[2].line, 10u) << "the irq line was skipped, and counted";
  EXPECT_EQ(events[3].kind, CmaTraceEvent::Kind::kRelease);
}

TEST(CmaTraceTest, ReadsTheOldFormatWithoutNames) {
  std::vector<CmaTraceEvent> events = Parse(
      "  allocator@2.0-s-431   [001] ....  52.123456: cma_alloc: pfn=b8000 page=ffffffbf02e00000 "
      "count=256 align=8\n"
      "  allocator@2.0-s-431   [001] ....  52.200000: cma_alloc: pfn=ffffffffffffffff "
      "page=0000000000000000 count=4096 align=8\n"
      "  allocator@2.0-s-431 (  431) [001] ....  53.0: cma_release: pfn=b8000 "
      "page=ffffffbf02e00000 "
      "count=256\n");
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].area, "");
  EXPECT_EQ(events[0].task, "allocator@2.0-s");
  EXPECT_EQ(events[0].pfn, 0xb8000u) << "%lx without 0x";
  EXPECT_TRUE(events[0].ok);
  EXPECT_FALSE(events[1].ok) << "pfn -1, page NULL";
  EXPECT_EQ(events[2].kind, CmaTraceEvent::Kind::kRelease);
  EXPECT_EQ(events[2].pid, 431) << "the tgid column";
}

TEST(CmaTraceTest, ATaskNameMayHoldWhatFtracePrints) {
  // comm is printed as it is: a " [1]" or a dash inside it is still the task's.
  std::vector<CmaTraceEvent> events = Parse(
      "  Binder [1] x-y-1234  ( 1200) [003] d..1.  7.5: cma_release: name=reserved "
      "pfn=0x10 page=0 count=2\n");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].task, "Binder [1] x-y");
  EXPECT_EQ(events[0].pid, 1234);
}

TEST(CmaTraceTest, AMalformedLineIsNamedAndStopsTheParse) {
  std::string error;
  EXPECT_EQ(
      ParseCmaTrace(std::string(kHead) + Alloc("a-1", 0x2000, 4, 2) + "garbage here\n", &error)
          .error(),
      EINVAL);
  EXPECT_EQ(error, "line 8: not an ftrace event line (TASK-PID [CPU] TIMESTAMP: EVENT: FIELDS)");
  EXPECT_EQ(
      ParseCmaTrace("  a-1 [000] ..... 1.0: cma_release: name=x pfn=0x10 page=0 count=\n", &error)
          .error(),
      EINVAL);
  EXPECT_EQ(error, "line 1: cma_release: count= is not a number");
  EXPECT_EQ(ParseCmaTrace("  a-1 [000] ..... 1.0: cma_alloc_finish: name=x pfn=0xZZ page=0 "
                          "count=1 align=0 errorno=0\n",
                          &error)
                .error(),
            EINVAL);
  EXPECT_EQ(error, "line 1: cma_alloc_finish: pfn= is not a hex number");
  EXPECT_EQ(
      ParseCmaTrace("  a-1 [000] ..... 1.0: cma_alloc_start: count=1 align=0\n", &error).error(),
      EINVAL);
  EXPECT_EQ(error, "line 1: cma_alloc_start: cma_alloc_start without name=");
}

TEST(CmaTraceTest, WhatTheRecorderWritesReadsBack) {
  CmaTraceEvent ev;
  ev.kind = CmaTraceEvent::Kind::kAlloc;
  ev.task = "a-very-long-process-name";
  ev.pid = 4242;
  ev.timestamp = 12.5;
  ev.area = "reserved";
  ev.pfn = 0xb8400;
  ev.count = 2048;
  ev.align = 8;
  std::vector<CmaTraceEvent> back = Parse(CmaTraceHeader() + FormatCmaTraceEvent(ev));
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(back[0].task, "a-very-long-proc") << "ftrace's 16-column comm";
  EXPECT_EQ(back[0].pid, 4242);
  EXPECT_EQ(back[0].area, "reserved");
  EXPECT_EQ(back[0].pfn, 0xb8400u);
  EXPECT_EQ(back[0].count, 2048u);
  EXPECT_EQ(back[0].align, 8u);
  EXPECT_TRUE(back[0].ok);
}

TEST(CmaReplayTest, AnAreaFailsBelowItsSizeWhenFragmented) {
  std::vector<CmaTraceEvent> events = Parse(FragmentingTrace());
  Result<CmaReplayResult> r = ReplayCmaTrace(events, Area());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->peak_requested_pages, 16u) << "12 live, then the codec's 8 minus the 4+4 freed";
  EXPECT_EQ(r->peak_placed_pages, 16u);
  EXPECT_EQ(r->peak_placed_line, 11u) << "the fourth buffer";
  ASSERT_EQ(r->failures.size(), 1u);
  const CmaReplayFailure& f = r->failures[0];
  EXPECT_EQ(f.line, 14u);
  EXPECT_EQ(f.count, 8u);
  EXPECT_EQ(f.align, 3u);
  EXPECT_EQ(f.maxchunk_pages, 4u) << "two 4-page holes";
  EXPECT_EQ(f.used_pages, 8u) << "half the area in use";
  EXPECT_EQ(f.task, "media.codec");
  EXPECT_EQ(r->min_maxchunk_pages, 0u) << "full after the fourth";
  EXPECT_EQ(r->releases, 2u);
  EXPECT_EQ(r->releases_skipped, 1u) << "the failed allocation's release";
  ASSERT_TRUE(r->at_first_failure.has_value());
  ASSERT_EQ(r->at_first_failure->live.size(), 2u);
  EXPECT_EQ(r->at_first_failure->live[0].pfn, 0x1004u);
  EXPECT_EQ(r->at_first_failure->live[1].pfn, 0x100cu);
  ASSERT_TRUE(r->at_peak.has_value());
  EXPECT_EQ(r->at_peak->live.size(), 4u);
  EXPECT_EQ(r->timeline.size(), 7u);
  // 20 pages: the only 8-aligned start past the holes is 0x1010, and 0x1010 + 8 runs past the
  // end; 24 pages hold it there. With a granule of 4 pages: 24.
  EXPECT_EQ(SmallestFittingPages(events, Area(), 4, 1 << 20), 24u);
  EXPECT_TRUE(ReplayCmaTrace(events, Area(24))->failures.empty());
  EXPECT_EQ(ReplayCmaTrace(events, Area(20))->failures.size(), 1u);
}

TEST(CmaReplayTest, AlignmentCountsFromTheAbsolutePfn) {
  // Area at pfn 0x1002: an order-2 allocation starts at the next multiple of 4 pages, 0x1004,
  // not at the area's start; the one-page one before it takes 0x1002.
  std::vector<CmaTraceEvent> events =
      Parse(Alloc("a-1", 0x5000, 1, 0) + Alloc("a-1", 0x5004, 4, 2) + Alloc("a-1", 0x5001, 1, 0));
  Result<CmaReplayResult> r = ReplayCmaTrace(events, CmaGeometry{"x", 0x1002, 14, 0});
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(r->failures.empty());
  ASSERT_EQ(r->at_peak->live.size(), 3u);
  EXPECT_EQ(r->at_peak->live[0].pfn, 0x1002u);
  EXPECT_EQ(r->at_peak->live[1].pfn, 0x1003u) << "first fit fills the gap alignment left";
  EXPECT_EQ(r->at_peak->live[2].pfn, 0x1004u);
  EXPECT_EQ(r->min_maxchunk_pages, 8u) << "0x1008..0x100f";
}

TEST(CmaReplayTest, TheOldFormatReplaysTheSame) {
  // The fragmenting trace as a 4.x kernel prints it (no names, pfn without 0x).
  std::string text;
  auto alloc = [&](uint64_t pfn, int count, int align) {
    char line[128];
    std::snprintf(line, sizeof(line),
                  "  hal-7 [000] .... 5.0: cma_alloc: pfn=%llx page=ffffffbf02e00000 count=%d "
                  "align=%d\n",
                  static_cast<unsigned long long>(pfn), count, align);
    text += line;
  };
  auto release = [&](uint64_t pfn, int count) {
    char line[128];
    std::snprintf(line, sizeof(line),
                  "  hal-7 [000] .... 6.0: cma_release: pfn=%llx page=ffffffbf02e00000 count=%d\n",
                  static_cast<unsigned long long>(pfn), count);
    text += line;
  };
  alloc(0x2000, 4, 2);
  alloc(0x2004, 4, 2);
  alloc(0x2008, 4, 2);
  alloc(0x200c, 4, 2);
  release(0x2000, 4);
  release(0x2008, 4);
  alloc(0x2010, 8, 3);
  std::vector<CmaTraceEvent> events = Parse(text);
  ASSERT_EQ(events.size(), 7u);
  Result<CmaReplayResult> r = ReplayCmaTrace(events, Area());
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->failures.size(), 1u);
  EXPECT_EQ(r->failures[0].line, 7u);
  EXPECT_EQ(r->failures[0].maxchunk_pages, 4u);
  EXPECT_EQ(SmallestFittingPages(events, Area(), 4, 1 << 20), 24u);
}

TEST(CmaReplayTest, AFailureOnTheDeviceIsNotReplayed) {
  std::vector<CmaTraceEvent> events =
      Parse(Alloc("a-1", 0, 64, 6, -12) + Alloc("a-1", 0x2000, 4, 2));
  Result<CmaReplayResult> r = ReplayCmaTrace(events, Area());
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->failed_on_device, 1u);
  EXPECT_EQ(r->allocations, 1u);
  EXPECT_TRUE(r->failures.empty());
  EXPECT_EQ(SmallestFittingPages(events, Area(), 4, 1 << 20), 4u);
}

}  // namespace
}  // namespace dmaheap
