// CMA sizing end to end: `dmaheapd --record` writes what its CMA areas do in the kernel's trace
// format, and replaying that record against the same board gives back exactly what the daemon
// did; `dmaheap replay` on device-style captures (both formats) answers with the figures worked
// out by hand, in text, JSON and an SVG; a malformed capture is refused naming its line.

#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "daemon_fixture.h"
#include "ipc/transport.h"
#include "mm/cma_replay.h"
#include "mm/cma_trace.h"

namespace dmaheap {
namespace {

using testing_util::Daemon;
using testing_util::DaemonAlloc;
using testing_util::RunProgram;

const std::string kTool = DMAHEAP_TOOL_PATH;
const std::string kData = TEST_DATA_DIR "/cma/";

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// The `NAME/key: value` of the daemon's cma view.
long CmaValue(const Daemon& d, const std::string& key) {
  const std::string text = d.Control(Op::kCma);
  const size_t at = text.find("linux,cma/" + key + ": ");
  return at == std::string::npos ? -1 : std::atol(text.c_str() + at + key.size() + 12);
}

TEST(CmaSizingTest, ARecordReplaysToWhatTheDaemonDid) {
  char tmpl[] = "/tmp/dh-record.XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string record = std::string(tmpl) + "/cma.trace";
  {
    Daemon d({"--record", record});
    ASSERT_TRUE(d.ready());
    Result<UniqueFd> sock = ConnectSocket(d.dir() + "/linux,cma");
    ASSERT_TRUE(sock.ok());
    std::vector<UniqueFd> held;
    for (uint64_t mib : {4, 1, 4}) {
      Result<UniqueFd> fd = DaemonAlloc(sock->get(), mib << 20);
      ASSERT_TRUE(fd.ok());
      held.push_back(std::move(fd).value());
    }
    held[1].reset();  // a 1 MiB hole between the two 4 MiB buffers
    d.Control(Op::kBarrier);
    Result<UniqueFd> fd = DaemonAlloc(sock->get(), 512 << 10);  // fits the hole
    ASSERT_TRUE(fd.ok());
    held.push_back(std::move(fd).value());
    const long used = CmaValue(d, "used"), maxchunk = CmaValue(d, "maxchunk");

    std::string error;
    Result<std::vector<CmaTraceEvent>> events = ParseCmaTrace(Slurp(record), &error);
    ASSERT_TRUE(events.ok()) << error << "\n" << Slurp(record);
    ASSERT_EQ(events->size(), 9u) << "4 × (start, finish), 1 release\n" << Slurp(record);
    EXPECT_EQ((*events)[1].task, "cma_sizing_test") << "the requesting process";
    EXPECT_EQ((*events)[1].pid, getpid());
    EXPECT_EQ((*events)[1].area, "linux,cma");
    EXPECT_EQ((*events)[1].count, 1024u);
    EXPECT_EQ((*events)[1].align, 8u) << "the CMA heap's align: get_order, capped at 8";
    EXPECT_EQ((*events)[6].kind, CmaTraceEvent::Kind::kRelease);

    // The default board's area: 128 MiB at pfn 1015808.
    Result<CmaReplayResult> r =
        ReplayCmaTrace(*events, CmaGeometry{"linux,cma", 1015808, 32768, 0});
    ASSERT_TRUE(r.ok());
    EXPECT_TRUE(r->failures.empty());
    ASSERT_FALSE(r->timeline.empty());
    EXPECT_EQ(static_cast<long>(r->timeline.back().used_pages), used);
    EXPECT_EQ(static_cast<long>(r->timeline.back().maxchunk_pages), maxchunk);
    // Every buffer where the daemon put it: the replay's pfn is the recorded one.
    std::map<size_t, uint64_t> recorded;
    for (const CmaTraceEvent& e : *events) {
      if (e.kind == CmaTraceEvent::Kind::kAlloc) recorded[e.line] = e.pfn;
    }
    ASSERT_TRUE(r->at_peak.has_value());
    ASSERT_EQ(r->at_peak->live.size(), 3u);
    for (const CmaPlacement& p : r->at_peak->live) EXPECT_EQ(p.pfn, recorded[p.line]) << p.line;
    EXPECT_EQ(recorded.rbegin()->second, recorded.begin()->second + 1024)
        << "the last buffer went into the hole the released one left";
  }
  (void)!system(("rm -rf " + std::string(tmpl)).c_str());
}

TEST(CmaSizingTest, ReplayAnswersWhetherItFitsAndHowBigTheAreaMustBe) {
  // 8 camera buffers of 12 MiB and 3 display buffers of 8 MiB fill 120 of hikey960's 128 MiB;
  // freeing every other camera buffer leaves 72 MiB used in 12 MiB holes, so the codec's 20 MiB
  // fail twice although 56 MiB are free. At the same base first fit then places them past the
  // 120 MiB: 160 MiB is the smallest area that holds both.
  std::string out;
  EXPECT_EQ(
      RunProgram({kTool, "replay", kData + "hikey960-camera-codec.trace", "--board", "hikey960"},
                 {}, &out),
      3)
      << out;
  for (const char* line :
       {"area linux,cma of board hikey960: base 0xb8000000, 128 MiB\n",
        "peak requested: 120 MiB at line 26\n", "peak placed:    120 MiB at line 26\n",
        "FAILS: 2 allocation(s)\n",
        "  line 32: 5120 pages (20 MiB) align 8 by media.codec-1201: largest free chunk 3072 "
        "pages (12 MiB), 72 MiB in use\n",
        "smallest area that fits: 160 MiB (granule 2 MiB: CMA_MIN_ALIGNMENT_BYTES, one "
        "pageblock), same base\n",
        "  kernel command line: cma=160M\n", "  device tree: size = <0x0 0xa000000>;\n"}) {
    EXPECT_NE(out.find(line), std::string::npos) << line << "---\n" << out;
  }
  EXPECT_EQ(RunProgram({kTool, "replay", kData + "hikey960-camera-codec.trace", "--board",
                        "hikey960", "--size", "160M"},
                       {}, &out),
            0)
      << out;
  EXPECT_NE(out.find("fits: every allocation placed; 40 MiB free at the peak, and 0 MiB to spare "
                     "over the smallest area that fits"),
            std::string::npos)
      << out;
  EXPECT_EQ(RunProgram({kTool, "replay", kData + "hikey960-camera-codec.trace", "--board",
                        "hikey960", "--size", "158M"},
                       {}, &out),
            3);
}

TEST(CmaSizingTest, TheOldFormatGivesTheSameAnswer) {
  std::string out;
  EXPECT_EQ(RunProgram({kTool, "replay", kData + "hikey960-camera-codec-4.x.trace", "--board",
                        "hikey960", "--json"},
                       {}, &out),
            3)
      << out;
  for (const char* field :
       {"\"peak_requested_bytes\": 125829120", "\"peak_placed_bytes\": 125829120",
        "\"failures\": [{\"line\": 23, \"count\": 5120, \"align\": 8, \"maxchunk_pages\": 3072, "
        "\"used_pages\": 18432}, {\"line\": 24,",
        "\"failed_on_device\": 1", "\"releases_skipped\": 1", "\"fits\": false",
        "\"smallest_fitting_bytes\": 167772160", "\"granule_bytes\": 2097152",
        "\"cma\": \"cma=160M\""}) {
    EXPECT_NE(out.find(field), std::string::npos) << field << "\n" << out;
  }
}

TEST(CmaSizingTest, JsonHoldsEveryFailure) {
  // 40 allocations of 40 000 pages, each bigger than hikey960's 128 MiB area: 40 failures, and
  // no area up to the board's RAM fits them all.
  char tmpl[] = "/tmp/dh-many.XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string trace = std::string(tmpl) + "/many.trace";
  {
    std::ofstream out(trace);
    for (int i = 0; i < 40; ++i) {
      out << "  a-1 [000] ..... 1." << 100000 + i << ": cma_alloc_finish: name=linux,cma pfn=0x"
          << std::hex << 0x100000 + i * 40000 << std::dec
          << " page=0 count=40000 align=0 errorno=0\n";
    }
  }
  std::string out;
  EXPECT_EQ(RunProgram({kTool, "replay", trace, "--board", "hikey960", "--json"}, {}, &out), 3);
  (void)!system(("rm -rf " + std::string(tmpl)).c_str());
  size_t failures = 0;
  for (size_t at = 0; (at = out.find("{\"line\": ", at)) != std::string::npos; ++at) ++failures;
  EXPECT_EQ(failures, 40u) << out;
  EXPECT_NE(out.find("\"smallest_fitting_bytes\": 0, \"granule_bytes\": 2097152, \"cma\": \"\", "
                     "\"dt_size\": \"\"}\n"),
            std::string::npos)
      << out;
}

TEST(CmaSizingTest, AMalformedTraceNamesItsLine) {
  std::string out;
  EXPECT_EQ(
      RunProgram({kTool, "replay", kData + "malformed.trace", "--board", "hikey960"}, {}, &out), 1);
  EXPECT_NE(out.find("malformed.trace: line 4: cma_alloc_finish: count= is not a number"),
            std::string::npos)
      << out;
  EXPECT_EQ(RunProgram({kTool, "replay", kData + "hikey960-camera-codec.trace", "--board",
                        "hikey960", "--area", "nope"},
                       {}, &out),
            2);
  EXPECT_NE(out.find("board hikey960 has no CMA area 'nope' (its CMA areas: linux,cma)"),
            std::string::npos)
      << out;
}

TEST(CmaSizingTest, TheSvgDrawsOwnersHolesAndTheFailingRequest) {
  char tmpl[] = "/tmp/dh-svg.XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string svg = std::string(tmpl) + "/replay.svg";
  std::string out;
  EXPECT_EQ(RunProgram({kTool, "replay", kData + "hikey960-camera-codec.trace", "--board",
                        "hikey960", "--svg", svg},
                       {}, &out),
            3);
  const std::string text = Slurp(svg);
  (void)!system(("rm -rf " + std::string(tmpl)).c_str());
  EXPECT_EQ(text.rfind("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg ", 0), 0u);
  EXPECT_NE(text.find("linux,cma at the peak (line 26)"), std::string::npos);
  EXPECT_NE(text.find("linux,cma at the first failure (line 32)"), std::string::npos);
  // At the peak: 11 buffers; at the failure: 4 cameras and 3 displays — each a titled range.
  size_t ranges = 0;
  for (size_t at = 0; (at = text.find("<title>camera-provider-612: pfn", at)) != std::string::npos;
       ++at) {
    ++ranges;
  }
  EXPECT_EQ(ranges, 8u + 4u);
  EXPECT_NE(text.find("failing request"), std::string::npos);
  EXPECT_NE(text.find("5120 pages (20 MiB), align 8 (trace line 32, media.codec-1201)"),
            std::string::npos);
  EXPECT_NE(text.find("largest hole"), std::string::npos);
  EXPECT_NE(text.find("3072 pages (12 MiB)"), std::string::npos);
  EXPECT_NE(text.find("<polyline"), std::string::npos) << "used and maxchunk over time";
  EXPECT_NE(text.find(">surfaceflinger-540</text>"), std::string::npos) << "the legend";
  EXPECT_EQ(text.substr(text.size() - 7), "</svg>\n");
}

TEST(CmaSizingTest, TheLiveAreasSvgShowsWhoHoldsWhat) {
  Daemon d;
  ASSERT_TRUE(d.ready());
  Result<UniqueFd> sock = ConnectSocket(d.dir() + "/linux,cma");
  ASSERT_TRUE(sock.ok());
  Result<UniqueFd> a = DaemonAlloc(sock->get(), 4 << 20);
  Result<UniqueFd> b = DaemonAlloc(sock->get(), 2 << 20);
  ASSERT_TRUE(a.ok() && b.ok());
  char tmpl[] = "/tmp/dh-svg.XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string svg = std::string(tmpl) + "/cma.svg";
  std::string out;
  EXPECT_EQ(RunProgram({kTool, "cma", "--svg", svg}, d.Env(), &out), 0) << out;
  EXPECT_NE(out.find("linux,cma/used: 1536\n"), std::string::npos) << out;
  EXPECT_EQ(out.find("/range: "), std::string::npos) << "the text stays debugfs's\n" << out;
  const std::string text = Slurp(svg);
  (void)!system(("rm -rf " + std::string(tmpl)).c_str());
  const std::string owner = "cma_sizing_test-" + std::to_string(getpid());
  EXPECT_NE(text.find("<title>" + owner + ": pfn 0xf8000, 1024 pages (4 MiB)"), std::string::npos)
      << text;
  EXPECT_NE(text.find("<title>" + owner + ": pfn 0xf8400, 512 pages (2 MiB)"), std::string::npos)
      << text;
  EXPECT_NE(text.find(">" + owner + "</text>"), std::string::npos) << "the legend";
  EXPECT_NE(text.find("used 1536 pages (6 MiB), largest free chunk 31232 pages (122 MiB)"),
            std::string::npos);
}

}  // namespace
}  // namespace dmaheap
