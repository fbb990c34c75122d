// The sync sanitizer's decisions without LD_PRELOAD: the variable, which heaps need brackets,
// bracket counting and the protection it gives, the verdict on each fault, the mapping table
// under partial munmap/mprotect, and the report's text.

#include "preload/sanitizer_rules.h"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "dmaheap/uapi/linux/dma-buf.h"

namespace dmaheap::preload::sanitizer {
namespace {

constexpr int kRW = PROT_READ | PROT_WRITE;
const uintptr_t kPage = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));

Brackets Open(uint64_t flags) {
  Brackets b;
  b.Apply(DMA_BUF_SYNC_START | flags);
  return b;
}

TEST(SanitizerOptionsTest, TheVariable) {
  for (const char* off : {static_cast<const char*>(nullptr), ""}) {
    Result<Options> o = ParseOptions(off);
    ASSERT_TRUE(o.ok());
    EXPECT_FALSE(o->sync);
  }
  Result<Options> sync = ParseOptions("sync");
  ASSERT_TRUE(sync.ok());
  EXPECT_TRUE(sync->sync);
  EXPECT_FALSE(sync->keep_going);
  Result<Options> keep = ParseOptions("sync:continue");
  ASSERT_TRUE(keep.ok());
  EXPECT_TRUE(keep->sync);
  EXPECT_TRUE(keep->keep_going);
  for (const char* bad : {"SYNC", "sync:", "sync:contin", "address", "continue", " sync"}) {
    SCOPED_TRACE(bad);
    EXPECT_EQ(ParseOptions(bad).error(), EINVAL);
  }
}

// Only cached CPU mappings need brackets; a heap the daemon cannot describe is taken as cached.
// (No heap is uncached today: this is where a write-combined heap's buffers are let go.)
TEST(SanitizerOptionsTest, UncachedHeapsNeedNoBrackets) {
  EXPECT_TRUE(NeedsBrackets(HeapInfo{kHeapInfoCached | kHeapInfoZeroed, 0, 0}));
  EXPECT_TRUE(NeedsBrackets(HeapInfo{kHeapInfoCached | kHeapInfoContiguous, 0, 0}));
  EXPECT_FALSE(NeedsBrackets(HeapInfo{kHeapInfoZeroed, 0, 0}));
  EXPECT_FALSE(NeedsBrackets(HeapInfo{kHeapInfoContiguous, 0, 64 << 20}));
  EXPECT_TRUE(NeedsBrackets(Result<HeapInfo>(Errno(EOPNOTSUPP))));
  EXPECT_TRUE(NeedsBrackets(Result<HeapInfo>(Errno(ENODEV))));
}

TEST(BracketsTest, CountedPerDirectionAndNestable) {
  Brackets b;
  EXPECT_EQ(b.Prot(), PROT_NONE);
  b.Apply(DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ);
  EXPECT_EQ(b.Prot(), PROT_READ);
  b.Apply(DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW);
  EXPECT_EQ(b.Prot(), kRW);
  b.Apply(DMA_BUF_SYNC_START | DMA_BUF_SYNC_WRITE);
  EXPECT_EQ(b.readers, 2u);
  EXPECT_EQ(b.writers, 2u);
  b.Apply(DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW);
  EXPECT_EQ(b.Prot(), kRW) << "one WRITE bracket is still open";
  b.Apply(DMA_BUF_SYNC_END | DMA_BUF_SYNC_WRITE);
  EXPECT_EQ(b.Prot(), PROT_READ) << "back to the READ bracket";
  b.Apply(DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ);
  EXPECT_EQ(b.Prot(), PROT_NONE);
}

// The dma-buf core decodes SYNC flags into a direction (READ → DMA_FROM_DEVICE); the sanitizer
// counts the flags again.
TEST(BracketsTest, DirectionsBackToFlags) {
  EXPECT_EQ(SyncFlags(DmaDirection::kFromDevice, false), DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ);
  EXPECT_EQ(SyncFlags(DmaDirection::kToDevice, false), DMA_BUF_SYNC_START | DMA_BUF_SYNC_WRITE);
  EXPECT_EQ(SyncFlags(DmaDirection::kBidirectional, true), DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW);
  for (uint64_t flags = 0; flags <= 7; ++flags) {
    if (!ValidSyncFlags(flags)) continue;
    EXPECT_EQ(SyncFlags(SyncDirection(flags), (flags & DMA_BUF_SYNC_END) != 0), flags);
  }
}

TEST(BracketsTest, AnEndWithoutItsStartStaysClosed) {
  Brackets b;
  b.Apply(DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW);  // valid for the kernel (kernel-facts §12)
  EXPECT_EQ(b.readers, 0u);
  EXPECT_EQ(b.writers, 0u);
  b.Apply(DMA_BUF_SYNC_START | DMA_BUF_SYNC_WRITE);
  EXPECT_EQ(b.Prot(), kRW);
  b.Apply(DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW);  // closes the WRITE bracket, no READ to close
  EXPECT_EQ(b.Prot(), PROT_NONE);
}

// A WRITE bracket gives read-write (reads there are allowed, see sanitizer_rules.h); a mapping
// never gets more than the program asked for.
TEST(BracketsTest, EffectiveProtectionNeverExceedsTheMappings) {
  EXPECT_EQ(EffectiveProt(kRW, Brackets{}), PROT_NONE);
  EXPECT_EQ(EffectiveProt(kRW, Open(DMA_BUF_SYNC_READ)), PROT_READ);
  EXPECT_EQ(EffectiveProt(kRW, Open(DMA_BUF_SYNC_WRITE)), kRW);
  EXPECT_EQ(EffectiveProt(kRW, Open(DMA_BUF_SYNC_RW)), kRW);
  EXPECT_EQ(EffectiveProt(PROT_READ, Open(DMA_BUF_SYNC_RW)), PROT_READ);
  EXPECT_EQ(EffectiveProt(PROT_NONE, Open(DMA_BUF_SYNC_RW)), PROT_NONE);
}

TEST(JudgeTest, EveryAccessAgainstEveryBracketState) {
  const Brackets none, read = Open(DMA_BUF_SYNC_READ), write = Open(DMA_BUF_SYNC_WRITE),
                       rw = Open(DMA_BUF_SYNC_RW);
  struct Row {
    Access access;
    int wanted;
    const Brackets& brackets;
    Verdict expected;
  } rows[] = {
      {Access::kRead, kRW, none, Verdict::kOutside},
      {Access::kWrite, kRW, none, Verdict::kOutside},
      {Access::kRead, kRW, read, Verdict::kRetry},  // the bracket opened while the CPU faulted
      {Access::kWrite, kRW, read, Verdict::kWriteInReadBracket},
      {Access::kRead, kRW, write, Verdict::kRetry},
      {Access::kWrite, kRW, write, Verdict::kRetry},
      {Access::kWrite, kRW, rw, Verdict::kRetry},
      // The program's own protection refuses these: real faults, not the sanitizer's.
      {Access::kWrite, PROT_READ, none, Verdict::kNotOurs},
      {Access::kWrite, PROT_READ, rw, Verdict::kNotOurs},
      {Access::kRead, PROT_NONE, rw, Verdict::kNotOurs},
      {Access::kRead, PROT_READ, none, Verdict::kOutside},
      // No fault reason from the CPU: in a READ bracket only a write faults.
      {Access::kUnknown, kRW, none, Verdict::kOutside},
      {Access::kUnknown, kRW, read, Verdict::kWriteInReadBracket},
      {Access::kUnknown, kRW, rw, Verdict::kRetry},
      {Access::kUnknown, PROT_READ, read, Verdict::kNotOurs},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(testing::Message()
                 << "access " << static_cast<int>(row.access) << " wanted " << row.wanted
                 << " readers " << row.brackets.readers << " writers " << row.brackets.writers);
    EXPECT_EQ(Judge(row.access, row.wanted, row.brackets), row.expected);
  }
}

TEST(JudgeTest, AReportedPageGetsWhatItNeeded) {
  EXPECT_EQ(GrantedProt(Access::kRead, kRW, Brackets{}), PROT_READ)
      << "a later write to the page is reported too";
  EXPECT_EQ(GrantedProt(Access::kWrite, kRW, Brackets{}), kRW);
  EXPECT_EQ(GrantedProt(Access::kWrite, kRW, Open(DMA_BUF_SYNC_READ)), kRW);
  EXPECT_EQ(GrantedProt(Access::kUnknown, kRW, Brackets{}), kRW);
  EXPECT_EQ(GrantedProt(Access::kRead, PROT_READ, Brackets{}), PROT_READ);
  EXPECT_EQ(GrantedProt(Access::kWrite, PROT_READ, Brackets{}), PROT_READ)
      << "never more than the program's own protection";
}

// ---- MappingTable ---------------------------------------------------------------------------

class MappingTableTest : public ::testing::Test {
 protected:
  const uintptr_t base_ = 0x10000000;
  const BufferId buf_{5, 77};
  MappingTable table_;

  void MapEightPages() { table_.Add({base_, 8 * kPage, 4 * kPage, buf_, kRW}); }
};

TEST_F(MappingTableTest, FindsByAnyAddressInside) {
  MapEightPages();
  EXPECT_EQ(table_.Find(base_ - 1), nullptr);
  ASSERT_NE(table_.Find(base_), nullptr);
  ASSERT_NE(table_.Find(base_ + 8 * kPage - 1), nullptr);
  EXPECT_EQ(table_.Find(base_ + 8 * kPage), nullptr);
  const TrackedMapping* m = table_.Find(base_ + 3 * kPage + 5);
  ASSERT_NE(m, nullptr);
  EXPECT_EQ(m->offset, 4 * kPage) << "the offset is the mapping's start's";
  EXPECT_TRUE(table_.Overlaps(base_ - kPage, kPage + 1));
  EXPECT_FALSE(table_.Overlaps(base_ - kPage, kPage));
  EXPECT_FALSE(table_.Overlaps(base_ + 8 * kPage, kPage));
}

TEST_F(MappingTableTest, LengthIsRoundedToPages) {
  table_.Add({base_, 100, 0, buf_, kRW});
  ASSERT_NE(table_.Find(base_ + kPage - 1), nullptr);
  EXPECT_EQ(table_.Find(base_ + kPage), nullptr);
}

TEST_F(MappingTableTest, PartialMunmapKeepsTheRestWithTheirOffsets) {
  MapEightPages();
  table_.Remove(base_ + 2 * kPage, 3 * kPage);  // pages 2..4 go
  EXPECT_EQ(table_.size(), 2u);
  EXPECT_EQ(table_.Find(base_ + 2 * kPage), nullptr);
  EXPECT_EQ(table_.Find(base_ + 4 * kPage + 7), nullptr);
  const TrackedMapping* left = table_.Find(base_ + kPage);
  ASSERT_NE(left, nullptr);
  EXPECT_EQ(left->start, base_);
  EXPECT_EQ(left->length, 2 * kPage);
  EXPECT_EQ(left->offset, 4 * kPage);
  const TrackedMapping* right = table_.Find(base_ + 5 * kPage);
  ASSERT_NE(right, nullptr);
  EXPECT_EQ(right->start, base_ + 5 * kPage);
  EXPECT_EQ(right->length, 3 * kPage);
  EXPECT_EQ(right->offset, 9 * kPage);
  // An unaligned munmap covers whole pages, as the kernel's does.
  table_.Remove(base_ + 5 * kPage + 1, 1);
  EXPECT_EQ(table_.Find(base_ + 5 * kPage), nullptr);
  ASSERT_NE(table_.Find(base_ + 6 * kPage), nullptr);
  EXPECT_EQ(table_.Find(base_ + 6 * kPage)->offset, 10 * kPage);
  // A range covering several pieces and a gap takes them all, and says which.
  std::vector<TrackedMapping> removed = table_.Remove(base_ - kPage, 20 * kPage);
  ASSERT_EQ(removed.size(), 2u);
  EXPECT_EQ(removed[0].start, base_);
  EXPECT_EQ(removed[1].start, base_ + 6 * kPage);
  EXPECT_EQ(table_.size(), 0u);
  EXPECT_TRUE(table_.Remove(base_, kPage).empty());
}

TEST_F(MappingTableTest, MapFixedOverReplaces) {
  MapEightPages();
  const BufferId other{5, 78};
  table_.Add({base_ + 2 * kPage, kPage, 0, other, PROT_READ});
  EXPECT_EQ(table_.size(), 3u);
  EXPECT_EQ(table_.Find(base_ + 2 * kPage)->buffer, other);
  EXPECT_EQ(table_.Find(base_ + 3 * kPage)->buffer, buf_);
  EXPECT_EQ(table_.OfBuffer(buf_).size(), 2u);
  EXPECT_EQ(table_.OfBuffer(other).size(), 1u);
}

TEST_F(MappingTableTest, MprotectOfPartSplitsAndChangesOnlyThatPart) {
  MapEightPages();
  EXPECT_TRUE(table_.SetWanted(base_ + 20 * kPage, kPage, PROT_READ).empty()) << "not tracked";
  std::vector<TrackedMapping> changed = table_.SetWanted(base_ + 6 * kPage, 4 * kPage, PROT_READ);
  ASSERT_EQ(changed.size(), 1u);
  EXPECT_EQ(changed[0].start, base_ + 6 * kPage);
  EXPECT_EQ(changed[0].length, 2 * kPage) << "only the tracked part";
  EXPECT_EQ(changed[0].offset, 10 * kPage);
  EXPECT_EQ(table_.Find(base_ + 6 * kPage)->wanted, PROT_READ);
  EXPECT_EQ(table_.Find(base_ + 5 * kPage)->wanted, kRW);
  EXPECT_EQ(table_.size(), 2u);
}

// ---- the report -----------------------------------------------------------------------------

TEST(ReportTest, NamesTheBufferTheOffsetAndTheAccess) {
  Report r;
  r.pid = 4242;
  r.verdict = Verdict::kOutside;
  r.access = Access::kWrite;
  r.name = "preview";
  r.heap = "system";
  r.buffer = BufferId{5, 123456};
  r.offset = 8192 + 17;
  r.address = 0x7f0000002011;
  r.pc = 0x401000;
  char out[1024];
  const std::string text(out, FormatReport(r, out, sizeof(out)));
  EXPECT_NE(text.find("==4242== dmaheap sync sanitizer: CPU write outside a DMA_BUF_IOCTL_SYNC "
                      "bracket\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("==4242==   buffer \"preview\" heap \"system\" inode 123456\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("offset 8209 (0x2011) in the buffer, address 0x7f0000002011, pc 0x401000\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("START with DMA_BUF_SYNC_WRITE (or RW)"), std::string::npos) << text;
  EXPECT_EQ(text.substr(text.size() - 13), "  backtrace:\n") << text;

  r.verdict = Verdict::kWriteInReadBracket;
  r.name = "";
  r.heap = "";
  const std::string inside(out, FormatReport(r, out, sizeof(out)));
  EXPECT_NE(inside.find("CPU write inside a READ-only DMA_BUF_IOCTL_SYNC bracket\n"),
            std::string::npos);
  EXPECT_NE(inside.find("buffer \"<none>\" heap \"<unknown>\""), std::string::npos) << inside;

  r.verdict = Verdict::kOutside;
  r.access = Access::kRead;
  const std::string read(out, FormatReport(r, out, sizeof(out)));
  EXPECT_NE(read.find("CPU read outside"), std::string::npos);
  EXPECT_NE(read.find("START with DMA_BUF_SYNC_READ (or RW)"), std::string::npos);
}

TEST(ReportTest, TruncatesRatherThanOverruns) {
  Report r;
  r.pid = 1;
  r.name = "n";
  char out[40];
  std::memset(out, 'Z', sizeof(out));
  EXPECT_EQ(FormatReport(r, out, 30), 30u);
  EXPECT_EQ(out[30], 'Z');
  EXPECT_EQ(FormatReport(r, out, 0), 0u);
}

TEST(ReportTest, SummaryGivesTheCountsAndTheExitStatus) {
  char out[256];
  std::string s(out, FormatSummary(99, 300, 2, /*keep_going=*/false, out, sizeof(out)));
  EXPECT_EQ(s,
            "==99== dmaheap sync sanitizer: 300 pages touched outside SYNC brackets, 2 "
            "reports printed; exiting with 23 (DMAHEAP_SANITIZE=sync:continue keeps the "
            "program's own)\n");
  s.assign(out, FormatSummary(99, 1, 1, /*keep_going=*/true, out, sizeof(out)));
  EXPECT_EQ(s,
            "==99== dmaheap sync sanitizer: 1 page touched outside SYNC brackets, 1 report "
            "printed; exit status kept (DMAHEAP_SANITIZE=sync:continue)\n");
  s.assign(out, FormatReportEnd(99, out, sizeof(out)));
  EXPECT_EQ(s.rfind("==99==   (until the buffer's next SYNC", 0), 0u) << s;
}

// A loop over a buffer faults at one instruction once per page: printed once.
TEST(ReportTest, RepeatsOfTheLastReportAreCountedOnly) {
  LastReport last;
  EXPECT_FALSE(last.Repeats(0x1000, Verdict::kOutside, Access::kWrite));
  EXPECT_TRUE(last.Repeats(0x1000, Verdict::kOutside, Access::kWrite));
  EXPECT_FALSE(last.Repeats(0x1000, Verdict::kOutside, Access::kRead)) << "a read is news";
  EXPECT_FALSE(last.Repeats(0x1004, Verdict::kOutside, Access::kRead)) << "another instruction";
  EXPECT_FALSE(last.Repeats(0x1004, Verdict::kWriteInReadBracket, Access::kRead));
  EXPECT_TRUE(last.Repeats(0x1004, Verdict::kWriteInReadBracket, Access::kRead));
  last = LastReport{};  // the buffer's next SYNC
  EXPECT_FALSE(last.Repeats(0x1004, Verdict::kWriteInReadBracket, Access::kRead));
}

}  // namespace
}  // namespace dmaheap::preload::sanitizer
