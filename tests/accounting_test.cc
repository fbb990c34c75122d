// Accounting and limits through the daemon: every buffer charged to the uid that allocated it
// (per-message credentials) and to that process's cgroup; --uid-limit and --heap-limit make an
// over-limit ALLOC fail with ENOMEM for that uid or heap alone, counted in stats.

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "daemon_fixture.h"
#include "ipc/transport.h"
#include "platform/cgroup.h"
#include "test_util.h"

namespace dmaheap {
namespace {

using testing_util::Child;
using testing_util::Daemon;
using testing_util::DaemonAlloc;
using testing_util::DropPrivileges;
using testing_util::RunProgram;

Result<UniqueFd> Alloc(const Daemon& d, const std::string& heap, uint64_t len) {
  Result<UniqueFd> sock = ConnectSocket(d.dir() + "/" + heap);
  if (!sock.ok()) return Errno(sock.error());
  return DaemonAlloc(sock->get(), len);
}

bool Has(const std::string& text, const std::string& line) {
  return text.find(line + "\n") != std::string::npos;
}

// A line that starts with `start` (the uid lines go on with buffer and connection figures).
bool HasStart(const std::string& text, const std::string& start) {
  return text.find("\n" + start + " ") != std::string::npos;
}

TEST(AccountingTest, LimitsRefuseTheUidOrHeapPastThemAndStatsShowWhoHoldsWhat) {
  Daemon d({"--uid-limit", "64K", "--heap-limit", "linux,cma=128K"});
  ASSERT_TRUE(d.ready());
  Result<UniqueFd> mine = Alloc(d, "system", 65536);
  ASSERT_TRUE(mine.ok());
  EXPECT_EQ(Alloc(d, "system", 4096).error(), ENOMEM) << "root is limited like any uid";
  EXPECT_EQ(Alloc(d, "linux,cma", 4096).error(), ENOMEM) << "the limit is the uid's, any heap";

  // Another uid has its own 64 KiB, and the CMA heap's limit is shared by every uid.
  Child other([&] {
    if (!DropPrivileges()) return 10;
    Result<UniqueFd> a = Alloc(d, "system", 65536);
    if (!a.ok()) return 11;
    if (Alloc(d, "system", 4096).error() != ENOMEM) return 12;
    return 0;
  });
  EXPECT_EQ(other.Wait(), 0);

  std::string stats = d.Control(Op::kStats);
  EXPECT_TRUE(HasStart(stats, "uid 0 buffers 1 bytes 65536 limit 65536 denied 2")) << stats;
  EXPECT_TRUE(HasStart(stats, "uid 54321 buffers 0 bytes 0 limit 65536 denied 1")) << stats;
  EXPECT_TRUE(Has(stats, "limit heap linux,cma bytes 131072 denied 0")) << stats;
  EXPECT_EQ(d.Stat("heap system", "failures"), 2);
  EXPECT_EQ(d.Stat("heap linux,cma", "failures"), 1);
  const std::string* cgroup = sys::CgroupOf(getpid());
  ASSERT_NE(cgroup, nullptr);
  EXPECT_TRUE(Has(stats, "cgroup " + *cgroup + " buffers 1 bytes 65536")) << stats;

  // Released, the bytes are the uid's again.
  mine->reset();
  d.Control(Op::kBarrier);
  EXPECT_TRUE(Alloc(d, "system", 65536).ok());
}

TEST(AccountingTest, AHeapLimitIsEveryUidsTogether) {
  Daemon d({"--heap-limit", "system=8K"});
  ASSERT_TRUE(d.ready());
  Result<UniqueFd> mine = Alloc(d, "system", 8192);
  ASSERT_TRUE(mine.ok());
  Child other([&] {
    if (!DropPrivileges()) return 10;
    return Alloc(d, "system", 4096).error() == ENOMEM ? 0 : 11;
  });
  EXPECT_EQ(other.Wait(), 0);
  EXPECT_TRUE(Alloc(d, "linux,cma", 4096).ok()) << "other heaps are not limited";
  const std::string stats = d.Control(Op::kStats);
  EXPECT_TRUE(Has(stats, "limit heap system bytes 8192 denied 1")) << stats;
  EXPECT_TRUE(HasStart(stats, "uid 54321 buffers 0 bytes 0 limit 2147483648 denied 1"))
      << "the default: half the default board's 4 GiB" << stats;
}

TEST(AccountingTest, BadLimitsAreRefusedAtStart) {
  for (const auto& [flag, value, message] :
       {std::tuple<const char*, const char*, const char*>{"--uid-limit", "0",
                                                          "--uid-limit 0: expected a size above 0"},
        {"--uid-limit", "lots", "--uid-limit lots: expected a size above 0"},
        {"--heap-limit", "system", "--heap-limit system: expected NAME=SIZE"}}) {
    std::string out;
    EXPECT_EQ(RunProgram({DMAHEAPD_PATH, "--foreground", flag, value},
                         {{"DMAHEAP_DIR", "/tmp/dmaheap-refused/h"}}, &out),
              2);
    EXPECT_NE(out.find(message), std::string::npos) << out;
    struct stat st {};
    EXPECT_NE(stat("/tmp/dmaheap-refused", &st), 0) << "a refused start makes nothing on disk";
  }
}

}  // namespace
}  // namespace dmaheap
