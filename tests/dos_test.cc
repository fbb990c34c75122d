// No unprivileged user can deny the service to others: each attack the issue measured against a
// root daemon now fails for the attacker alone, under the default per-uid limits (or smaller
// ones given on the command line, to keep the test short), and root's own ALLOC and stats work
// throughout.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "daemon_fixture.h"
#include "ipc/transport.h"
#include "test_util.h"

namespace dmaheap {
namespace {

using testing_util::Child;
using testing_util::Daemon;
using testing_util::DaemonAlloc;
using testing_util::DropPrivileges;
using testing_util::RssKb;

// An ALLOC over the protocol, the memory left uncommitted (an attacker does not commit it).
int RawAllocErrno(int sock, uint64_t len) {
  struct {
    uint64_t len;
    uint32_t fd, fd_flags;
    uint64_t heap_flags;
  } arg{len, 0, O_RDWR | O_CLOEXEC, 0};
  Result<Reply> reply = Call(sock, Op::kHeapIoctl, 0xC0184800u, &arg, sizeof(arg));
  return !reply.ok() ? reply.error() : reply->status;
}

int RootAllocErrno(const Daemon& d, uint64_t len) {
  Result<UniqueFd> sock = ConnectSocket(d.dir() + "/system");
  if (!sock.ok()) return sock.error();
  Result<UniqueFd> fd = DaemonAlloc(sock->get(), len);
  return fd.ok() ? 0 : fd.error();
}

bool RootStatsWork(const Daemon& d) {
  int status = -1;
  return !d.Control(Op::kStats, &status).empty() && status == 0;
}

// Runs `attack` as an unprivileged uid in a child that then holds what it took until `release`
// is written to; returns the child.
class Attacker {
 public:
  explicit Attacker(const std::function<int()>& attack) {
    int ready[2], release[2];
    EXPECT_EQ(pipe2(ready, O_CLOEXEC), 0);
    EXPECT_EQ(pipe2(release, O_CLOEXEC), 0);
    child_ = std::make_unique<Child>([=] {
      close(release[1]);  // else the child would hold open the pipe it waits to see closed
      close(ready[0]);
      if (!DropPrivileges()) return 100;
      const int rc = attack();
      (void)!write(ready[1], "x", 1);
      char c;
      (void)!read(release[0], &c, 1);
      return rc;
    });
    close(ready[1]);
    close(release[0]);
    char c;
    EXPECT_EQ(read(ready[0], &c, 1), 1);
    close(ready[0]);
    release_ = release[1];
  }
  // Lets the attacker go; its exit status (the attack's own result).
  int Finish() {
    close(release_);
    return child_->Wait();
  }

 private:
  std::unique_ptr<Child> child_;
  int release_ = -1;
};

// The attack of the (b): 4 KiB buffers allocated, mapped and their fds closed (no fd
// limit applies to what a mapping holds) until the daemon refuses one. 0 when exactly
// `expected` were granted and the next was refused ENOMEM.
int PinUntilRefused(const Daemon& d, int expected) {
  Result<UniqueFd> sock = ConnectSocket(d.dir() + "/system");
  if (!sock.ok()) return 200;
  for (int i = 0;; ++i) {
    Result<UniqueFd> fd = DaemonAlloc(sock->get(), 4096);
    if (!fd.ok()) return i == expected && fd.error() == ENOMEM ? 0 : 201;
    if (mmap(nullptr, 4096, PROT_READ, MAP_SHARED, fd->get(), 0) == MAP_FAILED) return 202;
  }
}

TEST(DosTest, OneHugeUncommittedBufferIsRefusedByDefault) {
  Daemon d;  // the default board: 4 GiB, so a non-root uid may hold 2 GiB
  ASSERT_TRUE(d.ready());
  Attacker a([&] {
    Result<UniqueFd> sock = ConnectSocket(d.dir() + "/system");
    return sock.ok() ? RawAllocErrno(sock->get(), uint64_t{3} << 30) : 200;
  });
  EXPECT_EQ(RootAllocErrno(d, 100 << 20), 0) << "root's 100 MiB";
  EXPECT_EQ(a.Finish(), ENOMEM) << "the 3 GiB request is the attacker's failure";
}

TEST(DosTest, PinningBuffersByTheirMappingsStopsAtTheBufferLimit) {
  Daemon d({"--default-uid-buffers", "200"});
  ASSERT_TRUE(d.ready());
  Attacker a([&] { return PinUntilRefused(d, 200); });
  EXPECT_EQ(RootAllocErrno(d, 4096), 0);
  EXPECT_EQ(d.Stat("heap system", "buffers"), 200);
  EXPECT_TRUE(RootStatsWork(d));
  EXPECT_EQ(a.Finish(), 0) << "the 201st buffer was refused ENOMEM";
}

// Each uid's release watches are its own (ReleaseWatch), not the daemon's uid's. The daemon runs
// as root of a user namespace in which every uid has 50 inotify watches: the attacker pins buffers
// until its own 50 are spent and the next ALLOC is refused ENOMEM, and root then still holds 40
// buffers at once — had the two shared root's watches, root would have had none left.
// Whether this machine lets root make a user namespace (a container's seccomp may not).
bool UserNamespacesWork() {
  Child probe([] { return unshare(CLONE_NEWUSER) == 0 ? 0 : 1; });
  return probe.Wait() == 0;
}

TEST(DosTest, PinnedBuffersSpendOnlyTheAttackersOwnWatches) {
  if (!UserNamespacesWork()) {
    GTEST_SKIP() << "no user namespaces here: ReleaseWatchTest.AsRootEachUidHasAnInstanceOfItsOwn "
                    "still checks the charging";
  }
  Daemon d({"--default-uid-buffers", "1000"}, nullptr, {USERNS_LAUNCHER_PATH, "50"});
  ASSERT_TRUE(d.ready());
  Attacker a([&] { return PinUntilRefused(d, 50); });
  Result<UniqueFd> sock = ConnectSocket(d.dir() + "/system");
  ASSERT_TRUE(sock.ok());
  std::vector<UniqueFd> held;
  for (int i = 0; i < 40; ++i) {
    Result<UniqueFd> fd = DaemonAlloc(sock->get(), 4096);
    ASSERT_TRUE(fd.ok()) << "root's buffer " << i << ": " << std::strerror(fd.error());
    held.push_back(std::move(fd).value());
  }
  EXPECT_EQ(d.Stat("heap system", "buffers"), 90);
  EXPECT_TRUE(RootStatsWork(d));
  EXPECT_EQ(a.Finish(), 0) << "the attacker's 51st buffer was refused ENOMEM";
  held.clear();
  d.Control(Op::kBarrier);
  EXPECT_EQ(d.Stat("heap system", "buffers"), 0) << "every release was noticed";
}

TEST(DosTest, IdleConnectionsStopAtTheConnectionLimit) {
  Daemon d({"--default-uid-connections", "20"});
  ASSERT_TRUE(d.ready());
  std::vector<UniqueFd> held;  // the child's copy holds its connections until it exits
  Attacker a([&] {
    for (int i = 0; i < 40; ++i) {
      Result<UniqueFd> sock = ConnectSocket(d.dir() + "/system");
      if (sock.ok()) held.push_back(std::move(sock).value());
    }
    // The kernel accepts every connect; the daemon closes those past the limit at once, so a
    // request on one finds the daemon gone (ENODEV) while the first 20 are served.
    int served = 0, refused = 0;
    for (UniqueFd& s : held) {
      const int rc = RawAllocErrno(s.get(), 4096);
      if (rc == 0) ++served;
      if (rc == ENODEV) ++refused;
    }
    return served == 20 && refused == 20 ? 0 : 1;
  });
  EXPECT_EQ(RootAllocErrno(d, 4096), 0);
  EXPECT_TRUE(RootStatsWork(d));
  const std::string stats = d.Control(Op::kStats);
  EXPECT_NE(stats.find("\nuid 54321 buffers 0 bytes 0 limit 2147483648 denied 0 buffer_limit "),
            std::string::npos)
      << stats;
  EXPECT_NE(stats.find(" connections 20 connection_limit 20 refused 20\n"), std::string::npos)
      << "20 held, 20 refused\n"
      << stats;
  EXPECT_EQ(a.Finish(), 0);
}

TEST(DosTest, AnExemptUidHasNoDefaultLimits) {
  Daemon d({"--default-uid-buffers", "5", "--exempt-uid", "54321"});
  ASSERT_TRUE(d.ready());
  Attacker a([&] {
    Result<UniqueFd> sock = ConnectSocket(d.dir() + "/system");
    if (!sock.ok()) return 200;
    for (int i = 0; i < 10; ++i) {
      if (RawAllocErrno(sock->get(), 4096) != 0) return 201;
    }
    return 0;
  });
  EXPECT_EQ(a.Finish(), 0);
}

TEST(DosTest, TheDaemonGivesMemoryBackAfterABurst) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "ASan's allocator keeps freed memory in quarantine: malloc_trim cannot show";
#endif
  Daemon d;
  ASSERT_TRUE(d.ready());
  const long base = RssKb(d.pid());
  long peak = 0;
  {
    Attacker a([&] {
      Result<UniqueFd> sock = ConnectSocket(d.dir() + "/system");
      if (!sock.ok()) return 200;
      for (int i = 0; i < 12000; ++i) {
        Result<UniqueFd> fd = DaemonAlloc(sock->get(), 4096);
        if (!fd.ok()) return 201;
        if (mmap(nullptr, 4096, PROT_READ, MAP_SHARED, fd->get(), 0) == MAP_FAILED) return 202;
      }
      return 0;
    });
    peak = RssKb(d.pid());
    EXPECT_EQ(a.Finish(), 0);
  }
  d.Control(Op::kBarrier);
  d.Control(Op::kBarrier);  // the loop gives memory back after the release it processed
  const long after = RssKb(d.pid());
  EXPECT_GT(peak - base, 2000) << "12 000 buffers grew the daemon";
  EXPECT_LT(after - base, (peak - base) / 2)
      << "base " << base << " kB, peak " << peak << " kB, after " << after << " kB";
}

}  // namespace
}  // namespace dmaheap
