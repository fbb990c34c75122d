// dmaheapd end to end: real daemon processes, real clients (forked processes speaking the
// protocol, and unmodified C programs under the preload shim), real fds.

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
using testing_util::RunProgram;

std::set<std::string> ListDir(const std::string& dir) {
  std::set<std::string> out;
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return out;
  while (dirent* e = readdir(d)) {
    if (std::string(e->d_name) != "." && std::string(e->d_name) != "..") out.insert(e->d_name);
  }
  closedir(d);
  return out;
}

// The ring between clients never blocks: a full queue just means the fd is not passed.
bool SendFdNonBlocking(int sock, int fd, uint64_t tag) {
  iovec iov{&tag, sizeof(tag)};
  const int fds[1] = {fd};
  auto sent = sys::SendWithFds(sock, {&iov, 1}, fds, MSG_DONTWAIT | MSG_NOSIGNAL);
  return sent.ok() && *sent == sizeof(tag);
}

UniqueFd RecvFdNonBlocking(int sock, uint64_t* tag) {
  iovec iov{tag, sizeof(*tag)};
  auto msg = sys::RecvWithFds(sock, {&iov, 1}, MSG_DONTWAIT);
  if (!msg.ok() || msg->len != sizeof(*tag) || msg->fds.empty()) return UniqueFd();
  return std::move(msg->fds.front());
}

TEST(DaemonTest, ServesOneSocketPerHeapAndCleansUpOnSigterm) {
  Daemon d;
  ASSERT_TRUE(d.ready());
  // The default board: the system heaps and its 128 MiB default CMA region (node linux,cma).
  EXPECT_EQ(ListDir(d.dir()), (std::set<std::string>{"system", "system-uncached",
                                                      "default_cma_region", "linux,cma"}));
  struct stat st {};
  ASSERT_EQ(stat((d.dir() + "/system").c_str(), &st), 0);
  EXPECT_TRUE(S_ISSOCK(st.st_mode));
  EXPECT_EQ(st.st_mode & 0777, 0666u) << "system is world-accessible (deviation table)";
  ASSERT_EQ(stat(d.control().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u) << "the control socket is root-only";
  // No temporary directory is left beside the heap directory.
  const std::string root = d.dir().substr(0, d.dir().rfind('/'));
  EXPECT_EQ(ListDir(root), (std::set<std::string>{"h", "h.ctl", "h.dev", "h.lock", "h.state"}))
      << "the heap directory, the control socket, the importers' device socket, the lock and "
         "the buffer record";
  EXPECT_EQ(d.Stop(), 0);
  EXPECT_EQ(access(d.dir().c_str(), F_OK), -1) << "heap directory removed at shutdown";
  EXPECT_EQ(access(d.control().c_str(), F_OK), -1) << "control socket removed at shutdown";
}

TEST(DaemonTest, AcceptsAnEmptyDirectoryAndRefusesAFullOne) {
  Daemon empty({}, [](const std::string& dir) { mkdir(dir.c_str(), 0755); });
  EXPECT_TRUE(empty.ready());
  Daemon full({}, [](const std::string& dir) {
    mkdir(dir.c_str(), 0755);
    std::ofstream(dir + "/stale") << "x";
  });
  EXPECT_FALSE(full.ready());
  EXPECT_EQ(full.Stop(), 1);
}

TEST(DaemonTest, UnknownBoardAndBadHeapModeAreRefused) {
  std::string out;
  EXPECT_EQ(RunProgram({DMAHEAPD_PATH, "--foreground", "--board", "nope"},
                       {{"DMAHEAP_DIR", "/tmp/dh-never"}}, &out),
            2);
  EXPECT_NE(out.find("board nope: not found (looked for nope.dtb in"), std::string::npos) << out;
  EXPECT_EQ(RunProgram({DMAHEAPD_PATH, "--foreground", "--heap-mode", "system=999"},
                       {{"DMAHEAP_DIR", "/tmp/dh-never"}}, &out),
            2);
  EXPECT_NE(out.find("MODE must be octal"), std::string::npos) << out;
}

TEST(DaemonTest, UapiProgramPassesUnderTheShim) {
  Daemon d;
  ASSERT_TRUE(d.ready());
  auto env = d.Env();
  env["LD_PRELOAD"] = PRELOAD_PATH;
  std::string out;
  EXPECT_EQ(RunProgram({CONFORMANCE_PATH}, env, &out), 0) << out;
  EXPECT_NE(out.find("# Testing heap: system"), std::string::npos) << out;
  EXPECT_NE(out.find("failed: 0"), std::string::npos) << out;
  EXPECT_EQ(d.Control(Op::kBarrier), "");
  EXPECT_EQ(d.Stat("heap system", "buffers"), 0);
  EXPECT_EQ(d.BufferFdsHeld(), 0);
}

TEST(DaemonTest, WithoutTheShimThereIsNoDevDmaHeap) {
  // The conformance program's kselftest convention: no /dev/dma_heap → exit 4 (SKIP). The
  // machine has no kernel heaps, so only the shim provides them.
  if (access("/dev/dma_heap", F_OK) == 0) GTEST_SKIP() << "this machine has /dev/dma_heap";
  EXPECT_EQ(RunProgram({CONFORMANCE_PATH}, {}), 4);
}

TEST(DaemonTest, ShimIsThreadSafeForkSafeAndSurvivesExec) {
  Daemon d;
  ASSERT_TRUE(d.ready());
  auto env = d.Env();
  env["LD_PRELOAD"] = PRELOAD_PATH;
  std::string out;
  EXPECT_EQ(RunProgram({SHIM_STRESS_PATH}, env, &out), 0) << out;
  d.Control(Op::kBarrier);
  EXPECT_EQ(d.Stat("heap system", "buffers"), 0);
  // 8 threads x 100, parent and forked child 100 each, one before and one after exec.
  EXPECT_EQ(d.Stat("heap system", "allocations"), 1002);
}

// Where the kernel has real heaps the shim steps aside: the program sees the kernel's
// /dev/dma_heap (here: none, so the kselftest convention's exit 4).
TEST(DaemonTest, ShimStepsAsideForKernelHeaps) {
  if (access("/dev/dma_heap", F_OK) == 0) GTEST_SKIP() << "this machine has /dev/dma_heap";
  Daemon d;
  ASSERT_TRUE(d.ready());
  char tmpl[] = "/tmp/dh-sysfs.XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  auto env = d.Env();
  env["LD_PRELOAD"] = PRELOAD_PATH;
  env["DMAHEAP_KERNEL_HEAPS"] = tmpl;  // stands in for /sys/class/dma_heap
  EXPECT_EQ(RunProgram({CONFORMANCE_PATH}, env), 4);
  rmdir(tmpl);
}

// 8 clients allocate, map, write, pass fds around a ring, fork holders, close and unmap in a
// random order. Afterwards every modelled page is back and the daemon holds no buffer.
TEST(DaemonTest, EightClientsInRandomOrderLeaveNothingBehind) {
  Daemon d;
  ASSERT_TRUE(d.ready());
  const long total = d.Stat("memory", "free_pages");  // RAM less the board's reserved memory
  ASSERT_GT(total, 0);
  constexpr int kClients = 8;
  int ring[kClients][2];
  for (auto& r : ring) ASSERT_EQ(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, r), 0);
  const std::string heap_path = d.dir() + "/system";
  std::vector<std::unique_ptr<Child>> clients;
  for (int id = 0; id < kClients; ++id) {
    clients.push_back(std::make_unique<Child>([&, id] {
      auto sock = ConnectSocket(heap_path);
      if (!sock.ok()) return 10;
      std::mt19937 rng(1000 + id);
      const int to_next = ring[(id + 1) % kClients][0];
      const int from_prev = ring[id][1];
      struct Held {
        UniqueFd fd;
        void* map = nullptr;
        size_t len = 0;
      };
      std::vector<Held> held;
      for (int step = 0; step < 60; ++step) {
        switch (rng() % 6) {
          case 0:
          case 1: {
            size_t len = 4096u << (rng() % 7);
            auto fd = DaemonAlloc(sock->get(), len);
            if (!fd.ok()) return 11;
            void* p = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd->get(), 0);
            if (p == MAP_FAILED) return 12;
            uint64_t tag = (uint64_t{static_cast<uint32_t>(id)} << 32) | static_cast<uint32_t>(step);
            std::memcpy(p, &tag, sizeof(tag));
            held.push_back({std::move(fd).value(), p, len});
            break;
          }
          case 2:
            if (!held.empty()) {  // pass one to the next client, with its tag
              Held& h = held[rng() % held.size()];
              if (h.fd && h.map != nullptr) {
                uint64_t tag;
                std::memcpy(&tag, h.map, sizeof(tag));
                (void)SendFdNonBlocking(to_next, h.fd.get(), tag);
              }
            }
            break;
          case 3: {  // receive whatever arrived and check it
            uint64_t tag;
            auto got = RecvFdNonBlocking(from_prev, &tag);
            if (got.valid()) {
              void* p = mmap(nullptr, 4096, PROT_READ, MAP_SHARED, got.get(), 0);
              if (p == MAP_FAILED) return 13;
              uint64_t seen;
              std::memcpy(&seen, p, sizeof(seen));
              if (seen != tag) return 14;
              if (rng() % 2 == 0) {
                munmap(p, 4096);
              } else {
                held.push_back({UniqueFd(), p, 4096});  // kept only as a mapping
              }
            }
            break;
          }
          case 4:
            if (!held.empty()) {  // a forked holder that lets go on its own schedule
              pid_t pid = fork();
              if (pid == 0) _exit(0);
              if (pid > 0) waitpid(pid, nullptr, 0);
            }
            break;
          case 5:
            if (!held.empty()) {  // drop an fd or a mapping, whichever comes first
              size_t i = rng() % held.size();
              if (held[i].fd && rng() % 2 == 0) {
                held[i].fd.reset();
              } else if (held[i].map != nullptr) {
                munmap(held[i].map, held[i].len);
                held[i].map = nullptr;
              } else {
                held[i].fd.reset();
              }
              if (!held[i].fd && held[i].map == nullptr) held.erase(held.begin() + i);
            }
            break;
        }
      }
      for (Held& h : held) {
        if (h.map != nullptr) munmap(h.map, h.len);
      }
      return 0;
    }));
  }
  for (auto& r : ring) {
    close(r[0]);
    close(r[1]);
  }
  for (int id = 0; id < kClients; ++id) EXPECT_EQ(clients[id]->Wait(), 0) << "client " << id;
  int status = -1;
  d.Control(Op::kBarrier, &status);
  EXPECT_EQ(status, 0);
  EXPECT_EQ(d.Stat("memory", "free_pages"), total);
  EXPECT_EQ(d.Stat("heap system", "buffers"), 0);
  EXPECT_GT(d.Stat("heap system", "allocations"), 0);
  EXPECT_EQ(d.BufferFdsHeld(), 0);
}

}  // namespace
}  // namespace dmaheap
