// dmaheapd under stress and misuse: malformed and mutated protocol messages, running out of
// fds, restricted heaps for unprivileged clients, a daemon that dies under the shim, and who
// pays for the memory of a buffer.

#include <grp.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <dirent.h>
#include <fstream>
#include <random>
#include <set>
#include <sstream>
#include <vector>

#include "daemon_fixture.h"
#include "platform/scm.h"
#include "dmaheap/fd_passing.h"
#include "test_util.h"

namespace dmaheap {
namespace {

using testing_util::Child;
using testing_util::Daemon;
using testing_util::DaemonAlloc;
using testing_util::DropPrivileges;
using testing_util::RunProgram;

// Raw protocol messages on one connection.
struct RawClient {
  UniqueFd sock;
  explicit RawClient(const std::string& path) : sock(std::move(ConnectSocket(path)).value()) {}
  // Sends `bytes` (with `fds` attached) and returns the reply's status, or -1 when the
  // connection was dropped.
  int Send(const std::vector<uint8_t>& bytes, const std::vector<int>& fds = {}) {
    iovec iov{const_cast<uint8_t*>(bytes.data()), bytes.size()};
    if (!sys::SendWithFds(sock.get(), {&iov, 1}, fds).ok()) return -1;
    ReplyHeader h{};
    iovec riov{&h, sizeof(h)};
    auto msg = sys::RecvWithFds(sock.get(), {&riov, 1});
    if (!msg.ok() || msg->len < sizeof(h)) return -1;
    return h.status;
  }
};

std::vector<uint8_t> Request(uint32_t magic, Op op, uint64_t cmd, const std::vector<uint8_t>& payload,
                             int32_t len_delta = 0) {
  RequestHeader h{magic, static_cast<uint32_t>(op), cmd,
                  static_cast<uint32_t>(static_cast<int32_t>(payload.size()) + len_delta), 0};
  std::vector<uint8_t> out(sizeof(h) + payload.size());
  std::memcpy(out.data(), &h, sizeof(h));
  if (!payload.empty()) std::memcpy(out.data() + sizeof(h), payload.data(), payload.size());
  return out;
}

std::vector<uint8_t> AllocPayload(uint64_t len) {
  std::vector<uint8_t> p(24, 0);
  uint32_t flags = O_RDWR | O_CLOEXEC;
  std::memcpy(p.data(), &len, 8);
  std::memcpy(p.data() + 12, &flags, 4);
  return p;
}

TEST(DaemonRobustnessTest, BadMessagesGetErrnosAndTheDaemonKeepsServing) {
  Daemon d;
  ASSERT_TRUE(d.ready());
  const long total = d.Stat("memory", "free_pages");  // RAM less the board's reserved memory
  RawClient c(d.dir() + "/system");
  EXPECT_EQ(c.Send({1, 2, 3, 4, 5}), EBADMSG) << "truncated";
  EXPECT_EQ(c.Send({}), EBADMSG) << "an empty message is short, not a hang-up";
  EXPECT_EQ(c.Send({}), EBADMSG) << "and the connection stays";
  EXPECT_EQ(c.Send(Request(0xdeadbeef, Op::kHeapIoctl, 0xC0184800u, AllocPayload(4096))),
            EBADMSG)
      << "wrong magic";
  EXPECT_EQ(c.Send(Request(kProtocolMagic, Op::kHeapIoctl, 0xC0184800u, AllocPayload(4096), 8)),
            EBADMSG)
      << "length field disagrees with the message";
  EXPECT_EQ(c.Send(Request(kProtocolMagic, static_cast<Op>(99), 0, {})), EOPNOTSUPP);
  EXPECT_EQ(c.Send(Request(kProtocolMagic, Op::kStats, 0, {})), EOPNOTSUPP)
      << "control ops are not served on heap sockets";
  EXPECT_EQ(c.Send(std::vector<uint8_t>(20000, 0x41)), EMSGSIZE) << "oversized";
  // Fewer argument bytes than the number's size: the copy-in faults.
  EXPECT_EQ(c.Send(Request(kProtocolMagic, Op::kHeapIoctl, 0xC0184800u, {1, 2, 3})), EFAULT);
  // Unexpected fds: refused, and closed by the daemon at once.
  int memfds[3];
  for (int& m : memfds) m = memfd_create("stray", MFD_CLOEXEC);
  EXPECT_EQ(c.Send(Request(kProtocolMagic, Op::kHeapIoctl, 0xC0184800u, AllocPayload(4096)),
                   {memfds[0], memfds[1], memfds[2]}),
            EINVAL);
  EXPECT_EQ(c.Send(Request(kProtocolMagic, Op::kSetName, 0, {'x'})), EBADF) << "no buffer fd";
  // ALLOC + name: the argument must be whole, the name shorter than 32 bytes and without NUL.
  std::vector<uint8_t> named = AllocPayload(4096);
  EXPECT_EQ(c.Send(Request(kProtocolMagic, Op::kAllocNamed, 0, {1, 2, 3})), EINVAL) << "short";
  named.resize(24 + 32, 'n');
  EXPECT_EQ(c.Send(Request(kProtocolMagic, Op::kAllocNamed, 0, named)), EINVAL) << "32 bytes";
  named.resize(24 + 3);
  named[25] = '\0';
  EXPECT_EQ(c.Send(Request(kProtocolMagic, Op::kAllocNamed, 0, named)), EINVAL) << "NUL inside";
  EXPECT_EQ(c.Send(Request(kProtocolMagic, Op::kSetName, 0, {'x'}), {memfds[0]}), ENOTTY)
      << "not a buffer";
  for (int m : memfds) close(m);
  EXPECT_EQ(d.FdsHeld("memfd:stray"), 0) << "stray fds are closed at once";
  // The same connection still allocates.
  auto fd = DaemonAlloc(c.sock.get(), 8192);
  ASSERT_TRUE(fd.ok()) << fd.error();
  EXPECT_EQ(lseek(fd->get(), 0, SEEK_END), 8192);
  fd->reset();

  // A client killed before it reads its reply: the buffer sent to it is released.
  {
    Child victim([&] {
      RawClient v(d.dir() + "/system");
      auto req = Request(kProtocolMagic, Op::kHeapIoctl, 0xC0184800u, AllocPayload(16 << 20));
      (void)!write(v.sock.get(), req.data(), req.size());
      pause();
      return 0;
    });
    // Wait until the daemon has answered (the allocation is counted), then kill.
    for (int i = 0; i < 200 && d.Stat("heap system", "allocations") < 2; ++i) {
      pollfd none{-1, 0, 0};
      poll(&none, 0, 10);
    }
    kill(victim.pid(), SIGKILL);
    EXPECT_EQ(victim.Wait(), 128 + SIGKILL);
  }
  d.Control(Op::kBarrier);
  EXPECT_EQ(d.Stat("memory", "free_pages"), total);
  EXPECT_EQ(d.BufferFdsHeld(), 0);
  EXPECT_EQ(d.Stat("heap system", "buffers"), 0);
}

// Thousands of mutated requests (a fixed seed, so a failure replays): each gets an errno reply
// or, for a successful ALLOC, a buffer; the daemon never dies, and afterwards every page is back
// and it holds no buffer fd.
TEST(DaemonRobustnessTest, MutatedRequestsNeverHurtTheDaemon) {
  Daemon d;
  ASSERT_TRUE(d.ready());
  const long total = d.Stat("memory", "free_pages");  // RAM less the board's reserved memory
  std::mt19937 rng(20261125);
  auto sock = std::make_unique<RawClient>(d.dir() + "/system");
  const std::vector<uint8_t> valid =
      Request(kProtocolMagic, Op::kHeapIoctl, 0xC0184800u, AllocPayload(4096));
  int replies = 0, drops = 0;
  for (int i = 0; i < 3000; ++i) {
    std::vector<uint8_t> msg = valid;
    switch (rng() % 5) {
      case 0:  // flip a few bytes anywhere
        for (int k = 0; k < 3; ++k) msg[rng() % msg.size()] ^= static_cast<uint8_t>(1u << (rng() % 8));
        break;
      case 1:  // cut it short
        msg.resize(rng() % msg.size());
        break;
      case 2:  // grow it with garbage
        msg.resize(msg.size() + rng() % 64, static_cast<uint8_t>(rng()));
        break;
      case 3: {  // a random op and command on a consistent header
        RequestHeader h{kProtocolMagic, static_cast<uint32_t>(rng() % 24), rng(), 24, 0};
        std::memcpy(msg.data(), &h, sizeof(h));
        break;
      }
      default:  // random bytes
        for (auto& b : msg) b = static_cast<uint8_t>(rng());
        break;
    }
    if (msg.empty()) msg.push_back(0);
    std::vector<int> fds;
    UniqueFd extra;
    if (rng() % 8 == 0) {
      extra.reset(memfd_create("fuzz", MFD_CLOEXEC));
      fds.push_back(extra.get());
    }
    const int status = sock->Send(msg, fds);
    if (status < 0) {  // dropped: reconnect and go on
      ++drops;
      sock = std::make_unique<RawClient>(d.dir() + "/system");
    } else {
      ++replies;
    }
  }
  EXPECT_GT(replies, 2500);
  // Buffers handed out on lucky requests were never received by RawClient (it reads only the
  // header), so they are released when the connection's queue is purged.
  sock.reset();
  d.Control(Op::kBarrier);
  EXPECT_EQ(d.Stat("memory", "free_pages"), total) << "drops: " << drops;
  EXPECT_EQ(d.BufferFdsHeld(), 0);
  EXPECT_EQ(d.FdsHeld("memfd:fuzz"), 0);
  auto ok = ConnectSocket(d.dir() + "/system");
  ASSERT_TRUE(ok.ok());
  EXPECT_TRUE(DaemonAlloc(ok->get(), 4096).ok());
}

// More clients than the daemon has fds: the extra connections are refused (closed at once), the
// daemon keeps serving, and once clients leave new ones are accepted again.
TEST(DaemonRobustnessTest, RunningOutOfFdsRefusesConnectionsAndRecovers) {
  Daemon d({}, nullptr, {"/usr/bin/prlimit", "--nofile=32:32"});
  ASSERT_TRUE(d.ready());
  std::vector<UniqueFd> clients;
  int refused = 0;
  for (int i = 0; i < 48; ++i) {
    auto sock = ConnectSocket(d.dir() + "/system");
    if (!sock.ok()) continue;
    // A refused connection reads EOF (or ECONNRESET) on its first round trip.
    auto fd = DaemonAlloc(sock->get(), 4096);
    if (!fd.ok()) {
      ++refused;
      continue;
    }
    clients.push_back(std::move(sock).value());
  }
  EXPECT_GT(refused, 0) << "the daemon had only 32 fds";
  EXPECT_GT(clients.size(), 10u);
  clients.clear();
  // Served again once the others left (the daemon notices each hang-up).
  bool served = false;
  for (int i = 0; i < 100 && !served; ++i) {
    auto sock = ConnectSocket(d.dir() + "/system");
    served = sock.ok() && DaemonAlloc(sock->get(), 4096).ok();
  }
  EXPECT_TRUE(served);
}


TEST(DaemonAccessTest, UnprivilegedClientUsesWorldHeapsOnly) {
  Daemon d;
  ASSERT_TRUE(d.ready());
  Child client([&] {
    if (!DropPrivileges()) return 10;
    auto sock = ConnectSocket(d.dir() + "/system");
    if (!sock.ok()) return 11;
    auto fd = DaemonAlloc(sock->get(), 4096);
    if (!fd.ok()) return 12;
    auto ctl = ConnectSocket(d.control());
    if (ctl.ok() || ctl.error() != EACCES) return 13;
    return 0;
  });
  EXPECT_EQ(client.Wait(), 0);
  // The buffer was owned by the client's uid (per-message credentials).
  d.Control(Op::kBarrier);
  EXPECT_EQ(d.Stat("heap system", "buffers"), 0);
}

TEST(DaemonAccessTest, HeapModeRestrictsTheSocket) {
  Daemon d({"--heap-mode", "system=0660:0"});
  ASSERT_TRUE(d.ready());
  struct stat st {};
  ASSERT_EQ(stat((d.dir() + "/system").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0660u);
  EXPECT_EQ(st.st_gid, 0u);
  Child client([&] {
    if (!DropPrivileges()) return 10;
    auto sock = ConnectSocket(d.dir() + "/system");
    return !sock.ok() && sock.error() == EACCES ? 0 : 11;
  });
  EXPECT_EQ(client.Wait(), 0);
  // Root still gets in.
  auto sock = ConnectSocket(d.dir() + "/system");
  ASSERT_TRUE(sock.ok());
  EXPECT_TRUE(DaemonAlloc(sock->get(), 4096).ok());
}

// A dead daemon gives ENODEV; once a daemon serves the directory again, the same heap fd works.
TEST(DaemonShimTest, DeadDaemonGivesEnodevThenReconnects) {
  Daemon d;
  ASSERT_TRUE(d.ready());
  int in[2], out[2];
  ASSERT_EQ(pipe2(in, O_CLOEXEC), 0);
  ASSERT_EQ(pipe2(out, O_CLOEXEC), 0);
  auto env = d.Env();
  env["LD_PRELOAD"] = PRELOAD_PATH;
  Child probe([&] {
    dup2(in[0], 0);
    dup2(out[1], 1);
    for (const auto& [k, v] : env) setenv(k.c_str(), v.c_str(), 1);
    execl(RECONNECT_PROBE_PATH, RECONNECT_PROBE_PATH, nullptr);
    return 127;
  });
  close(in[0]);
  close(out[1]);
  FILE* from = fdopen(out[0], "r");
  char line[64] = {};
  auto ask = [&]() -> std::string {
    if (write(in[1], "a", 1) != 1) return "write failed";
    if (fgets(line, sizeof(line), from) == nullptr) return "eof";
    return std::string(line);
  };
  ASSERT_NE(fgets(line, sizeof(line), from), nullptr);
  EXPECT_STREQ(line, "ready\n");
  EXPECT_EQ(ask(), "0\n");
  // SET_NAME through the shim reaches the daemon and shows in bufinfo.
  ASSERT_EQ(write(in[1], "n", 1), 1);
  ASSERT_NE(fgets(line, sizeof(line), from), nullptr);
  EXPECT_STREQ(line, "0\n");
  const std::string bufinfo = d.Control(Op::kBufInfo);
  EXPECT_NE(bufinfo.find("\tsystem\t"), std::string::npos) << bufinfo;
  EXPECT_NE(bufinfo.find("\tprobe-name\n"), std::string::npos) << bufinfo;
  EXPECT_EQ(d.Stop(), 0);
  EXPECT_EQ(ask(), "-19\n") << "ENODEV while no daemon serves";
  ASSERT_TRUE(d.Start());
  EXPECT_EQ(ask(), "0\n") << "reconnected";
  (void)!write(in[1], "q", 1);
  EXPECT_EQ(probe.Wait(), 0);
  close(in[1]);
  fclose(from);
}

// A "Key:   N kB" line of /proc/PID/status, in kB; -1 when absent.
long StatusKb(pid_t pid, const std::string& key) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(f, line)) {
    if (line.compare(0, key.size(), key) == 0) return std::atol(line.c_str() + key.size());
  }
  return -1;
}

// The memory of an O_RDWR buffer is committed by the client, so a memory cgroup charges the
// client and not the daemon (cgroup v1 memory controller, as on this machine).
TEST(DaemonAccountingTest, ClientPaysForItsBuffers) {
  std::ifstream self("/proc/self/cgroup");
  std::string entry, base;
  while (std::getline(self, entry)) {
    if (entry.find(":memory:") != std::string::npos)
      base = "/sys/fs/cgroup/memory" + entry.substr(entry.find(":memory:") + 8);
  }
  const std::string daemon_cg = base + "/dh-daemon-" + std::to_string(getpid());
  const std::string client_cg = base + "/dh-client-" + std::to_string(getpid());
  if (base.empty() || mkdir(daemon_cg.c_str(), 0755) != 0) GTEST_SKIP() << "no memory cgroup";
  if (mkdir(client_cg.c_str(), 0755) != 0) {
    rmdir(daemon_cg.c_str());
    GTEST_SKIP() << "no memory cgroup";
  }
  auto usage = [](const std::string& cg) {
    std::ifstream f(cg + "/memory.usage_in_bytes");
    long long v = -1;
    f >> v;
    return v;
  };
  {
    Daemon d;
    ASSERT_TRUE(d.ready());
    std::ofstream(daemon_cg + "/cgroup.procs") << d.pid();
    const long long daemon_before = usage(daemon_cg);
    const long rss_before = StatusKb(d.pid(), "VmRSS:");
    int sync_pipe[2], done_pipe[2];
    ASSERT_EQ(pipe(sync_pipe), 0);
    ASSERT_EQ(pipe(done_pipe), 0);
    Child client([&] {
      std::ofstream(client_cg + "/cgroup.procs") << getpid();
      auto sock = ConnectSocket(d.dir() + "/system");
      if (!sock.ok()) return 10;
      auto fd = DaemonAlloc(sock->get(), 256 << 20);
      if (!fd.ok()) return 11;
      (void)!write(sync_pipe[1], "x", 1);
      char c;
      (void)!read(done_pipe[0], &c, 1);
      return 0;
    });
    char c;
    ASSERT_EQ(read(sync_pipe[0], &c, 1), 1);
    const long long client_usage = usage(client_cg);
    const long long daemon_after = usage(daemon_cg);
    EXPECT_GE(client_usage, 256ll << 20) << "the 256 MiB are charged to the client";
    EXPECT_LT(daemon_after - daemon_before, 16ll << 20) << "and not to the daemon";
    EXPECT_LT(StatusKb(d.pid(), "VmRSS:") - rss_before, 16 << 10) << "the daemon's RSS stays put";
    EXPECT_LT(StatusKb(d.pid(), "RssShmem:"), 16 << 10) << "the daemon maps no buffer";
    (void)!write(done_pipe[1], "x", 1);
    EXPECT_EQ(client.Wait(), 0);
    d.Stop();
    for (int fd : {sync_pipe[0], sync_pipe[1], done_pipe[0], done_pipe[1]}) close(fd);
  }
  rmdir(client_cg.c_str());
  rmdir(daemon_cg.c_str());
}

}  // namespace
}  // namespace dmaheap
