// The CMA heap through dmaheapd, with real processes: kernel-facts.md §12's case (a 128 MiB CMA
// heap gives 16 buffers of 8 MiB, then ENOMEM) and release by another process — the last fd
// closed in one, the last mapping removed in another — after which the area is empty again.

#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "daemon_fixture.h"
#include "dmaheap/fd_passing.h"
#include "test_util.h"

namespace dmaheap {
namespace {

using testing_util::Child;
using testing_util::Daemon;
using testing_util::DaemonAlloc;

constexpr uint64_t k8MiB = uint64_t{8} << 20;

// The value of "NAME/key: N" in the daemon's CMA text; -1 when absent.
long CmaValue(const Daemon& d, const std::string& key) {
  int status = -1;
  const std::string text = d.Control(Op::kCma, &status);
  const size_t at = text.find("linux,cma/" + key + ": ");
  if (status != 0 || at == std::string::npos) return -1;
  return std::atol(text.c_str() + at + key.size() + 12);
}

TEST(CmaDaemonTest, SixteenEightMiBBuffersThenEnomemThenReleasedByAnotherProcess) {
  Daemon d;
  ASSERT_TRUE(d.ready());
  EXPECT_EQ(CmaValue(d, "count"), 32768) << "128 MiB default area";
  EXPECT_EQ(d.Stat("heap default_cma_region", "contiguous"), 1);
  EXPECT_EQ(d.Stat("heap default_cma_region", "max_size"), 128 << 20);
  EXPECT_EQ(d.Stat("heap system", "contiguous"), 0);
  EXPECT_EQ(CmaValue(d, "used"), 0);
  auto sock = ConnectSocket(d.dir() + "/default_cma_region");
  ASSERT_TRUE(sock.ok());
  std::vector<UniqueFd> bufs;
  for (int i = 0; i < 16; ++i) {
    auto fd = DaemonAlloc(sock->get(), k8MiB);
    ASSERT_TRUE(fd.ok()) << "buffer " << i << ": " << fd.error();
    bufs.push_back(std::move(fd).value());
  }
  EXPECT_EQ(DaemonAlloc(sock->get(), k8MiB).error(), ENOMEM) << "the 17th, as on Linux";
  auto legacy = ConnectSocket(d.dir() + "/linux,cma");
  ASSERT_TRUE(legacy.ok());
  EXPECT_EQ(DaemonAlloc(legacy->get(), 4096).error(), ENOMEM) << "the legacy name, same area";
  EXPECT_EQ(CmaValue(d, "used"), 32768);
  EXPECT_EQ(CmaValue(d, "maxchunk"), 0);

  // A second process takes every buffer, maps it, writes a pattern and drops its fds: from then
  // on only its mappings hold the buffers.
  int sv[2];
  ASSERT_EQ(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
  UniqueFd parent_end(sv[0]), child_end(sv[1]);
  Child mapper([&]() -> int {
    parent_end.reset();
    std::vector<void*> maps;
    for (int i = 0; i < 16; ++i) {
      char tag = 0;
      auto got = RecvFd(child_end.get(), &tag, 1);
      if (!got.ok() || !got->fd) return 10;
      void* p = mmap(nullptr, k8MiB, PROT_READ | PROT_WRITE, MAP_SHARED, got->fd.get(), 0);
      if (p == MAP_FAILED) return 11;
      static_cast<unsigned char*>(p)[k8MiB - 1] = static_cast<unsigned char>(i + 1);
      maps.push_back(p);
    }  // every received fd is closed here
    char go = 0;
    if (write(child_end.get(), "m", 1) != 1 || read(child_end.get(), &go, 1) != 1) return 12;
    for (int i = 0; i < 16; ++i) {
      if (static_cast<unsigned char*>(maps[i])[k8MiB - 1] != i + 1) return 13;
      munmap(maps[i], k8MiB);
    }
    return 0;
  });
  child_end.reset();
  for (UniqueFd& b : bufs) ASSERT_TRUE(SendFd(parent_end.get(), b.get(), "b", 1).ok());
  char mapped = 0;
  ASSERT_EQ(read(parent_end.get(), &mapped, 1), 1);
  bufs.clear();  // the last fds are gone: only the other process's mappings remain
  int status = -1;
  d.Control(Op::kBarrier, &status);
  EXPECT_EQ(CmaValue(d, "used"), 32768) << "a mapping keeps a buffer alive";
  ASSERT_EQ(write(parent_end.get(), "g", 1), 1);
  EXPECT_EQ(mapper.Wait(), 0);
  d.Control(Op::kBarrier, &status);
  EXPECT_EQ(CmaValue(d, "used"), 0) << "last munmap in the other process released them";
  EXPECT_EQ(CmaValue(d, "maxchunk"), 32768);
  EXPECT_EQ(d.Stat("heap default_cma_region", "buffers"), 0);
  auto again = DaemonAlloc(sock->get(), k8MiB);
  EXPECT_TRUE(again.ok());
  EXPECT_EQ(d.BufferFdsHeld(), 0);
}

TEST(CmaDaemonTest, BoardsBootInTheDaemonWithAllTheirHeapsAtOnce) {
  for (const char* board : {"db845c", "carveout-demo"}) {
    SCOPED_TRACE(board);
    Daemon d({"--board", board});
    ASSERT_TRUE(d.ready());
    const bool carveout = std::string(board) == "carveout-demo";
    EXPECT_EQ(access((d.dir() + "/system").c_str(), F_OK), 0);
    EXPECT_EQ(access((d.dir() + "/default_cma_region").c_str(), F_OK), carveout ? 0 : -1);
    EXPECT_EQ(access((d.dir() + "/reserved").c_str(), F_OK), carveout ? 0 : -1);
    EXPECT_EQ(access((d.dir() + "/carveout@60000000").c_str(), F_OK), carveout ? 0 : -1);
    int status = -1;
    const std::string cma = d.Control(Op::kCma, &status);
    EXPECT_EQ(status, 0);
    EXPECT_EQ(cma.empty(), !carveout) << cma;
  }
}

}  // namespace
}  // namespace dmaheap
