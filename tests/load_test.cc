// Load and leaks: many client processes allocate, map, fill, pass to a peer and free buffers of
// mixed sizes on the system and CMA heaps through one daemon, while a quarter of them are killed
// with SIGKILL holding buffers and the daemon itself is killed and restarted once. Afterwards
// every buffer is released, the daemon holds the fds it held before any client came, the buddy
// allocator and the CMA bitmap are empty again, and the daemon's RSS is bounded.
//
// ctest runs 8 clients × 150 operations; DMAHEAP_LOAD_CLIENTS and DMAHEAP_LOAD_OPS make it the
// full run (64 × 1000: `DMAHEAP_LOAD_CLIENTS=64 DMAHEAP_LOAD_OPS=1000 build/bin/load_test`).

#include <dirent.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "daemon_fixture.h"
#include "dmaheap/fd_passing.h"
#include "ipc/transport.h"
#include "test_util.h"

namespace dmaheap {
namespace {

using testing_util::Child;
using testing_util::Daemon;
using testing_util::RssKb;
using testing_util::FdCount;
using testing_util::DaemonAlloc;

int EnvInt(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v != nullptr && std::atoi(v) > 0 ? std::atoi(v) : fallback;
}

// One ALLOC that outlives a daemon restart: on a broken connection (ENODEV) or none (the daemon
// is down), it connects again until the daemon answers, at most ~20 s.
Result<UniqueFd> AllocSurviving(const std::string& path, UniqueFd& sock, uint64_t len) {
  for (int tries = 0; tries < 200000; ++tries) {
    if (!sock) {
      Result<UniqueFd> s = ConnectSocket(path);
      if (!s.ok()) {
        sched_yield();
        pollfd none{-1, 0, 0};
        poll(&none, 0, 1);
        continue;
      }
      sock = std::move(s).value();
    }
    Result<UniqueFd> fd = DaemonAlloc(sock.get(), len);
    if (fd.ok() || fd.error() != ENODEV) return fd;
    sock.reset();
  }
  return Errno(ETIMEDOUT);
}

struct Held {
  UniqueFd fd;
  uint8_t* map = nullptr;
  uint64_t len = 0;
  uint8_t seed = 0;
};

bool Intact(const Held& h) {
  for (uint64_t i = 0; i < h.len; i += 4096) {
    if (h.map[i] != static_cast<uint8_t>(h.seed + i / 4096)) return false;
  }
  return true;
}

// A client: `ops` operations. Even clients send every fourth buffer to their odd peer over
// `peer`, which maps it, checks it and closes it. Exit status: 0, or what went wrong.
int Client(const Daemon& d, int index, int ops, int peer) {
  std::mt19937 rng(static_cast<unsigned>(index) * 7919u);
  const uint64_t sizes[] = {4096, 65536, 1 << 20, 4 << 20};
  const std::string heaps[] = {"system", "linux,cma"};
  UniqueFd socks[2];
  std::vector<Held> held;
  const bool sender = index % 2 == 0;
  signal(SIGPIPE, SIG_IGN);  // a killed peer is EPIPE
  if (!sender) fcntl(peer, F_SETFL, fcntl(peer, F_GETFL) | O_NONBLOCK);
  for (int op = 0; op < ops; ++op) {
    if (!sender) {  // take what the peer sent, if anything (the socket is non-blocking)
      char tag = 0;
      for (Result<ReceivedFd> got = RecvFd(peer, &tag, 1); got.ok() && got->fd;
           got = RecvFd(peer, &tag, 1)) {
        struct stat st {};
        if (fstat(got->fd.get(), &st) != 0) return 20;
        const uint64_t len = static_cast<uint64_t>(st.st_size);
        auto* map =
            static_cast<uint8_t*>(mmap(nullptr, len, PROT_READ, MAP_SHARED, got->fd.get(), 0));
        if (map == MAP_FAILED) return 21;
        Held h{UniqueFd(), map, len, static_cast<uint8_t>(tag)};
        if (!Intact(h)) return 22;
        munmap(map, len);
      }
    }
    if (held.size() < 8 && rng() % 3 != 0) {
      const int heap = static_cast<int>(rng() % 4 == 0);  // a quarter on the CMA heap
      const uint64_t len = sizes[rng() % (heap == 1 ? 3 : 4)];
      Result<UniqueFd> fd = AllocSurviving(d.dir() + "/" + heaps[heap], socks[heap], len);
      if (!fd.ok()) {
        if (fd.error() == ENOMEM) continue;  // a full CMA area is an answer, not a failure
        return 10;
      }
      auto* map = static_cast<uint8_t*>(
          mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd->get(), 0));
      if (map == MAP_FAILED) return 11;
      const uint8_t seed = static_cast<uint8_t>(rng());
      for (uint64_t i = 0; i < len; i += 4096) map[i] = static_cast<uint8_t>(seed + i / 4096);
      Held h{std::move(fd).value(), map, len, seed};
      if (sender && op % 4 == 0) {
        const char tag = static_cast<char>(seed);
        Result<void> sent = SendFd(peer, h.fd.get(), &tag, 1);
        if (!sent.ok() && sent.error() != EPIPE && sent.error() != ECONNRESET) return 12;
      }
      if (rng() % 4 == 0) h.fd.reset();  // some are held by their mapping alone
      held.push_back(std::move(h));
    } else if (!held.empty()) {
      const size_t victim = rng() % held.size();
      if (!Intact(held[victim])) return 13;
      munmap(held[victim].map, held[victim].len);
      held.erase(held.begin() + static_cast<long>(victim));
    }
  }
  for (const Held& h : held) {
    if (!Intact(h)) return 14;
  }
  return 0;
}

TEST(LoadTest, ManyClientsACrashAndKillsLeaveNothingBehind) {
  const int clients = EnvInt("DMAHEAP_LOAD_CLIENTS", 8) & ~1;
  const int ops = EnvInt("DMAHEAP_LOAD_OPS", 150);
  Daemon d;
  ASSERT_TRUE(d.ready());
  const long total = d.Stat("memory", "free_pages");
  const long rss_before = RssKb(d.pid());
  // What a daemon holds with no client: counted after a barrier on a kept connection (so no
  // closed connection is still being reaped), less that connection.
  auto settled_fds = [&] {
    Result<UniqueFd> ctl = ConnectSocket(d.control());
    if (!ctl.ok() || !Call(ctl->get(), Op::kBarrier, 0, nullptr, 0).ok()) return size_t{0};
    return FdCount(d.pid()) - 1;
  };
  const size_t fds_fresh = settled_fds();

  // Pairs joined by a socket for passing buffers.
  std::vector<std::unique_ptr<Child>> children;
  std::vector<int> ends;
  for (int i = 0; i < clients; i += 2) {
    int pair[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair), 0);
    ends.push_back(pair[0]);
    ends.push_back(pair[1]);
  }
  for (int i = 0; i < clients; ++i) {
    children.push_back(std::make_unique<Child>([&, i] {
      for (int e = 0; e < clients; ++e) {
        if (e != i) close(ends[e]);
      }
      return Client(d, i, ops, ends[i]);
    }));
  }
  for (int e : ends) close(e);

  // Mid-run (once the clients hold buffers): the daemon dies and comes back; then, once they
  // allocate again, a quarter of the clients are killed.
  auto live = [&] {
    return d.Stat("heap system", "buffers") + d.Stat("heap linux,cma", "buffers");
  };
  auto await = [&](const std::function<bool()>& done) {
    for (int i = 0; i < 20000 && !done(); ++i) {
      pollfd none{-1, 0, 0};
      poll(&none, 0, 1);
    }
  };
  await([&] { return live() >= clients * 3; });
  const long buffers_at_kill = live();
  d.Kill();
  ASSERT_TRUE(d.Start());
  const long adopted = live();
  await([&] {
    return d.Stat("heap system", "allocations") + d.Stat("heap linux,cma", "allocations") >=
           clients * 2;
  });
  for (int i = 1; i < clients; i += 4) kill(children[i]->pid(), SIGKILL);

  int failed = 0, killed = 0;
  for (int i = 0; i < clients; ++i) {
    const int rc = children[i]->Wait();
    if (rc == 128 + SIGKILL) {
      ++killed;
    } else if (rc != 0) {
      ++failed;
      ADD_FAILURE() << "client " << i << " exited " << rc;
    }
  }
  // What the (new) daemon sees once every client is gone.
  d.Control(Op::kBarrier);
  const long system_left = d.Stat("heap system", "buffers");
  const long cma_left = d.Stat("heap linux,cma", "buffers");
  const std::string cma = d.Control(Op::kCma);
  const size_t fds_after = settled_fds();
  const long rss_after = RssKb(d.pid());
  EXPECT_EQ(system_left, 0);
  EXPECT_EQ(cma_left, 0);
  EXPECT_EQ(d.Stat("memory", "free_pages"), total) << "the buddy allocator is whole again";
  EXPECT_NE(cma.find("used: 0\n"), std::string::npos) << cma;
  EXPECT_EQ(fds_after, fds_fresh) << "the daemon holds what it held before clients came";
  EXPECT_EQ(d.BufferFdsHeld(), 0);
  EXPECT_LT(rss_after, rss_before + 16 * 1024) << "RSS bounded (kB)";
  EXPECT_GT(buffers_at_kill, 0);
  std::printf(
      "load: %d clients x %d operations, %d killed, %d failed; %ld buffers live at the "
      "daemon's kill, %ld live after its restart; leaks: %ld buffers, %zd fds; daemon "
      "RSS %ld kB at start, %ld kB after (a new daemon)\n",
      clients, ops, killed, failed, buffers_at_kill, adopted, system_left + cma_left,
      static_cast<ssize_t>(fds_after) - static_cast<ssize_t>(fds_fresh), rss_before, rss_after);
}

}  // namespace
}  // namespace dmaheap
