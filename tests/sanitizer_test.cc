// `dmaheap run --sanitize=sync`: the sync sanitizer of the preload shim, as a user runs it, on
// the access patterns of tests/conformance/sanitizer_probe.c — what it reports (buffer name,
// heap, inode, offset, read or write, backtrace), what it never touches, what fork does, and the
// exit status; and the daemon's Op::kHeapInfo it asks whether a heap needs brackets at all.

#include <gtest/gtest.h>
#include <signal.h>

#include <regex>
#include <string>
#include <vector>

#include "daemon_fixture.h"
#include "ipc/heap_call.h"

namespace dmaheap {
namespace {

using testing_util::Daemon;
using testing_util::RunProgram;

struct ProbeRun {
  int status = -1;
  std::string out;  // stdout and stderr
};

ProbeRun Probe(const std::vector<std::string>& run_args, const std::vector<std::string>& probe_args,
               const std::map<std::string, std::string>& env = {}) {
  std::vector<std::string> argv = {DMAHEAP_TOOL_PATH, "run"};
  argv.insert(argv.end(), run_args.begin(), run_args.end());
  argv.push_back("--");
  argv.push_back(SANITIZER_PROBE_PATH);
  argv.insert(argv.end(), probe_args.begin(), probe_args.end());
  ProbeRun run;
  run.status = RunProgram(argv, env, &run.out);
  return run;
}

size_t Count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// The inode the probe printed ("inode N").
std::string ProbeInode(const std::string& out) {
  std::smatch m;
  return std::regex_search(out, m, std::regex("inode ([0-9]+)\n")) ? m[1].str() : "";
}

constexpr char kReport[] = "dmaheap sync sanitizer: CPU ";

TEST(SanitizerTest, WriteOutsideABracketIsReportedAndTheExitStatusIs23) {
  const ProbeRun run = Probe({"--sanitize=sync"}, {"outside-write"});
  EXPECT_EQ(run.status, 23) << run.out;
  const std::string inode = ProbeInode(run.out);
  ASSERT_FALSE(inode.empty()) << run.out;
  EXPECT_EQ(Count(run.out, kReport), 1u) << "8197 and 8198 share a page\n" << run.out;
  EXPECT_NE(run.out.find("dmaheap sync sanitizer: CPU write outside a DMA_BUF_IOCTL_SYNC bracket"),
            std::string::npos)
      << run.out;
  EXPECT_NE(run.out.find("  buffer \"probe-frame\" heap \"system\" inode " + inode + "\n"),
            std::string::npos)
      << run.out;
  EXPECT_NE(run.out.find("  offset 8197 (0x2005) in the buffer, address 0x"), std::string::npos)
      << run.out;
  EXPECT_NE(run.out.find("START with DMA_BUF_SYNC_WRITE (or RW)"), std::string::npos) << run.out;
  // The backtrace starts at the faulting function (the handler's frames are left out).
  std::smatch m;
  ASSERT_TRUE(std::regex_search(run.out, m, std::regex("  backtrace:\n([^\n]*)\n"))) << run.out;
  EXPECT_NE(m[1].str().find("sanitizer_probe(probe_write+0x"), std::string::npos) << m[1];
  // The program went on (the page got the access it needed) and its own checks passed.
  EXPECT_NE(run.out.find("done\n"), std::string::npos) << run.out;
  EXPECT_EQ(run.out.find("sanitizer_probe:"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("dmaheap sync sanitizer: 1 page touched outside SYNC brackets, "
                         "1 report printed; exiting with 23"),
            std::string::npos)
      << run.out;
}

// Uncached buffers need no brackets: there is no CPU cache between the program and the device.
TEST(SanitizerTest, UncachedHeapBuffersNeedNoBrackets) {
  const ProbeRun run =
      Probe({"--sanitize=sync"}, {"outside-write"}, {{"PROBE_HEAP", "system-uncached"}});
  EXPECT_EQ(run.status, 0) << run.out;
  EXPECT_EQ(Count(run.out, kReport), 0u) << run.out;
  const ProbeRun loop = Probe({"--sanitize=sync"}, {"loop"}, {{"PROBE_HEAP", "system-uncached"}});
  EXPECT_EQ(loop.status, 0) << loop.out;
  EXPECT_EQ(Count(loop.out, kReport), 0u) << loop.out;
}

TEST(SanitizerTest, ReadOutsideABracketIsReportedAsARead) {
  const ProbeRun run = Probe({"--sanitize=sync"}, {"outside-read"});
  EXPECT_EQ(run.status, 23) << run.out;
  EXPECT_EQ(Count(run.out, kReport), 1u) << run.out;
  EXPECT_NE(run.out.find("CPU read outside a DMA_BUF_IOCTL_SYNC bracket"), std::string::npos)
      << run.out;
  EXPECT_NE(run.out.find("  offset 4096 (0x1000) in the buffer"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("START with DMA_BUF_SYNC_READ (or RW)"), std::string::npos) << run.out;
}

TEST(SanitizerTest, WriteInsideAReadBracketIsReportedAsAWrite) {
  const ProbeRun run = Probe({"--sanitize=sync"}, {"write-in-read"});
  EXPECT_EQ(run.status, 23) << run.out;
  EXPECT_EQ(Count(run.out, kReport), 1u) << "the read before it is inside its bracket\n" << run.out;
  EXPECT_NE(run.out.find("CPU write inside a READ-only DMA_BUF_IOCTL_SYNC bracket"),
            std::string::npos)
      << run.out;
  EXPECT_NE(run.out.find("  offset 4099 (0x1003) in the buffer"), std::string::npos) << run.out;
}

TEST(SanitizerTest, ALoopOverABufferIsOneReportCountingEveryPage) {
  const ProbeRun run = Probe({"--sanitize=sync"}, {"loop"});
  EXPECT_EQ(run.status, 23) << run.out;
  EXPECT_EQ(Count(run.out, kReport), 1u) << run.out;
  EXPECT_NE(run.out.find("256 pages touched outside SYNC brackets, 1 report printed"),
            std::string::npos)
      << run.out;
}

TEST(SanitizerTest, ContinueKeepsTheProgramsExitStatus) {
  ProbeRun run = Probe({"--sanitize=sync:continue"}, {"outside-write", "7"});
  EXPECT_EQ(run.status, 7) << run.out;
  EXPECT_EQ(Count(run.out, kReport), 1u) << run.out;
  EXPECT_NE(run.out.find("exit status kept (DMAHEAP_SANITIZE=sync:continue)"), std::string::npos)
      << run.out;
  // The variable works without the option too: `dmaheap run` passes the environment on.
  run = Probe({}, {"outside-write", "0"}, {{"DMAHEAP_SANITIZE", "sync:continue"}});
  EXPECT_EQ(run.status, 0) << run.out;
  EXPECT_EQ(Count(run.out, kReport), 1u) << run.out;
}

TEST(SanitizerTest, WithoutTheSanitizerNothingIsReported) {
  const ProbeRun run = Probe({}, {"outside-write"});
  EXPECT_EQ(run.status, 0) << run.out;
  EXPECT_EQ(run.out.find("dmaheap sync sanitizer"), std::string::npos) << run.out;
}

TEST(SanitizerTest, ACorrectProgramRunsWithoutReports) {
  const ProbeRun run = Probe({"--sanitize=sync"}, {"correct"});
  EXPECT_EQ(run.status, 0) << run.out;
  EXPECT_EQ(run.out.find("dmaheap sync sanitizer"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("done\n"), std::string::npos) << run.out;
}

// Anonymous memory and a plain memfd are touched freely, and the program's own SIGSEGV handler
// (installed after the sanitizer's) still gets its real faults.
TEST(SanitizerTest, MappingsOfOtherFdsAreNeverTouched) {
  const ProbeRun run = Probe({"--sanitize=sync"}, {"non-buffer"});
  EXPECT_EQ(run.status, 0) << run.out;
  EXPECT_EQ(run.out.find("dmaheap sync sanitizer"), std::string::npos) << run.out;
  EXPECT_NE(run.out.find("done\n"), std::string::npos) << run.out;
}

// The child inherits the parent's open bracket (writes inside it pass), ends it in its own
// process and is reported for its next write, with its own exit status; the parent's bracket is
// still open, and the parent is not reported.
TEST(SanitizerTest, AForkedChildInheritsTheBracketsAndAnswersForItsOwnAccesses) {
  const ProbeRun run = Probe({"--sanitize=sync"}, {"fork"});
  EXPECT_EQ(run.status, 0) << run.out;
  EXPECT_NE(run.out.find("child exit 23\n"), std::string::npos) << run.out;
  EXPECT_EQ(Count(run.out, kReport), 1u) << run.out;
  EXPECT_NE(run.out.find("  offset 4096 (0x1000) in the buffer"), std::string::npos) << run.out;
  EXPECT_EQ(Count(run.out, "touched outside SYNC brackets"), 1u) << "the child's summary";
  EXPECT_NE(run.out.find("done\n"), std::string::npos) << run.out;
}

TEST(SanitizerTest, RealFaultsStillKillTheProgram) {
  const ProbeRun run = Probe({"--sanitize=sync"}, {"crash"});
  EXPECT_EQ(run.status, 128 + SIGSEGV) << run.out;
  EXPECT_EQ(run.out.find("dmaheap sync sanitizer"), std::string::npos) << run.out;
  // A SIGSEGV sent with kill() takes its default action too.
  std::string out;
  EXPECT_EQ(RunProgram({DMAHEAP_TOOL_PATH, "run", "--sanitize=sync", "--", "/bin/sh", "-c",
                        "kill -SEGV $$"},
                       {}, &out),
            128 + SIGSEGV)
      << out;
}

// A -static program: no preload shim reaches it; run says so once and runs it unsanitized.
TEST(SanitizerTest, StaticProgramsRunUnsanitizedWithOneNotice) {
  std::string out;
  EXPECT_EQ(RunProgram({DMAHEAP_TOOL_PATH, "run", "--sanitize=sync", "--", CONFORMANCE_STATIC_PATH,
                        "--static-memfd"},
                       {}, &out),
            0)
      << out;
  EXPECT_EQ(Count(out, "is statically linked: it runs without the sync sanitizer"), 1u) << out;
  EXPECT_NE(out.find("failed: 0"), std::string::npos) << out;
  EXPECT_EQ(RunProgram({DMAHEAP_TOOL_PATH, "run", "--sanitize=sync", "--", SANITIZER_PROBE_PATH,
                        "correct"},
                       {}, &out),
            0);
  EXPECT_EQ(out.find("statically linked"), std::string::npos) << out;
}

TEST(SanitizerTest, UnknownSanitizerIsAUsageError) {
  std::string out;
  EXPECT_EQ(
      RunProgram({DMAHEAP_TOOL_PATH, "run", "--sanitize=address", "--", "/bin/true"}, {}, &out), 2)
      << out;
  // The shim refuses a value it does not know, once, and runs the program unsanitized.
  const ProbeRun run = Probe({}, {"outside-write"}, {{"DMAHEAP_SANITIZE", "snyc"}});
  EXPECT_EQ(run.status, 0) << run.out;
  EXPECT_NE(run.out.find("DMAHEAP_SANITIZE=snyc is not understood"), std::string::npos) << run.out;
  EXPECT_EQ(run.out.find(kReport), std::string::npos) << run.out;
}

// The daemon describes its heaps (Op::kHeapInfo): the sanitizer leaves buffers of uncached heaps
// alone, and every heap of the default board is cached.
TEST(HeapInfoTest, TheDaemonDescribesEachHeap) {
  Daemon daemon;
  ASSERT_TRUE(daemon.ready());
  Result<HeapInfo> system = QueryHeapInfo(daemon.dir(), "system");
  ASSERT_TRUE(system.ok()) << strerror(system.error());
  EXPECT_EQ(system->flags & kHeapInfoCached, kHeapInfoCached);
  EXPECT_EQ(system->flags & kHeapInfoZeroed, kHeapInfoZeroed);
  EXPECT_EQ(system->flags & kHeapInfoContiguous, 0u);
  Result<HeapInfo> cma = QueryHeapInfo(daemon.dir(), "default_cma_region");
  ASSERT_TRUE(cma.ok()) << strerror(cma.error());
  EXPECT_EQ(cma->flags & kHeapInfoContiguous, kHeapInfoContiguous);
  EXPECT_EQ(QueryHeapInfo(daemon.dir(), "no-such-heap").error(), ENOENT);
}

}  // namespace
}  // namespace dmaheap
