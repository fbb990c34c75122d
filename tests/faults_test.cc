// Faults the daemon meets while serving: injected allocation failures (DMAHEAP_FAULT) reach
// the client as the kernel's errnos with nothing charged or lost; a client that connects and
// says nothing, or never reads its replies, costs the others nothing.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <unistd.h>

#include <string>
#include <vector>

#include "daemon_fixture.h"
#include "ipc/transport.h"

namespace dmaheap {
namespace {

using testing_util::Daemon;
using testing_util::DaemonAlloc;
using testing_util::RunProgram;

Daemon WithFaults(const std::string& rules) {
  return Daemon({}, nullptr, {"/usr/bin/env", "DMAHEAP_FAULT=" + rules});
}

int AllocErrno(const Daemon& d, const std::string& heap, uint64_t len,
               uint32_t flags = O_RDWR | O_CLOEXEC) {
  Result<UniqueFd> sock = ConnectSocket(d.dir() + "/" + heap);
  if (!sock.ok()) return sock.error();
  Result<UniqueFd> fd = DaemonAlloc(sock->get(), len, flags);
  return fd.ok() ? 0 : fd.error();
}

bool Has(const std::string& text, const std::string& line) {
  return text.find(line + "\n") != std::string::npos;
}

TEST(FaultsTest, AnInjectedHeapFailureIsCountedAndChargesNothing) {
  Daemon d = WithFaults("heap:system:enomem:1/2");
  ASSERT_TRUE(d.ready());
  const long total = d.Stat("memory", "free_pages");
  std::vector<UniqueFd> held;
  Result<UniqueFd> sock = ConnectSocket(d.dir() + "/system");
  ASSERT_TRUE(sock.ok());
  for (int i = 0; i < 4; ++i) {
    Result<UniqueFd> fd = DaemonAlloc(sock->get(), 4096);
    EXPECT_EQ(fd.ok() ? 0 : fd.error(), i % 2 == 0 ? ENOMEM : 0) << i;
    if (fd.ok()) held.push_back(std::move(fd).value());
  }
  EXPECT_EQ(AllocErrno(d, "linux,cma", 4096), 0) << "other heaps are untouched";
  const std::string stats = d.Control(Op::kStats);
  EXPECT_EQ(d.Stat("heap system", "failures"), 2);
  EXPECT_EQ(d.Stat("heap system", "buffers"), 2);
  EXPECT_EQ(d.Stat("memory", "free_pages"), total - 2);
  // Root: no default limit; its two connections are the heap socket above and this stats one.
  EXPECT_TRUE(Has(stats,
                  "uid 0 buffers 2 bytes 8192 limit 0 denied 0 buffer_limit 0 connections 2 "
                  "connection_limit 0 refused 0"))
      << stats;
}

TEST(FaultsTest, ANameWithACommaIsAHeap) {
  Daemon d = WithFaults("heap:linux,cma:eio:1/1");
  ASSERT_TRUE(d.ready());
  EXPECT_EQ(AllocErrno(d, "linux,cma", 4096), EIO);
  EXPECT_EQ(AllocErrno(d, "system", 4096), 0);
}

TEST(FaultsTest, MemfdAndCommitFailuresLeaveNoPageTaken) {
  Daemon d = WithFaults("memfd:emfile:1/2,fallocate:enospc:1/1");
  ASSERT_TRUE(d.ready());
  const long total = d.Stat("memory", "free_pages");
  EXPECT_EQ(AllocErrno(d, "system", 1 << 20), EMFILE) << "the memfd could not be made";
  // A read-only buffer is committed by the daemon: ENOSPC there is the client's ENOMEM.
  EXPECT_EQ(AllocErrno(d, "system", 1 << 20, O_RDONLY | O_CLOEXEC), ENOMEM);
  d.Control(Op::kBarrier);
  EXPECT_EQ(d.Stat("memory", "free_pages"), total) << "no page stays taken";
  EXPECT_EQ(d.Stat("heap system", "buffers"), 0);
  EXPECT_EQ(d.BufferFdsHeld(), 0);
}

TEST(FaultsTest, AMalformedRuleStopsTheDaemonNamingIt) {
  std::string out;
  EXPECT_EQ(
      RunProgram({DMAHEAPD_PATH, "--foreground"},
                 {{"DMAHEAP_DIR", "/nonexistent/h"}, {"DMAHEAP_FAULT", "heap:system:nope:1/2"}},
                 &out),
      2);
  EXPECT_NE(out.find("DMAHEAP_FAULT=heap:system:nope:1/2: rule 'heap:system:nope:1/2': ERRNO "
                     "must be one of"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("not starting without the faults DMAHEAP_FAULT asks for"), std::string::npos)
      << out;
}

TEST(FaultsTest, SilentAndDeafClientsCostTheOthersNothing) {
  Daemon d;
  ASSERT_TRUE(d.ready());
  const long total = d.Stat("memory", "free_pages");
  // One connects and says nothing; one sends ALLOCs and never reads a reply.
  Result<UniqueFd> silent = ConnectSocket(d.dir() + "/system");
  Result<UniqueFd> deaf = ConnectSocket(d.dir() + "/system");
  ASSERT_TRUE(silent.ok() && deaf.ok());
  struct {
    uint64_t len;
    uint32_t fd, fd_flags;
    uint64_t heap_flags;
  } arg{65536, 0, O_RDWR | O_CLOEXEC, 0};
  RequestHeader h{kProtocolMagic, static_cast<uint32_t>(Op::kHeapIoctl), 0xC0184800u, sizeof(arg),
                  0};
  std::vector<uint8_t> msg(sizeof(h) + sizeof(arg));
  std::memcpy(msg.data(), &h, sizeof(h));
  std::memcpy(msg.data() + sizeof(h), &arg, sizeof(arg));
  int sent = 0;
  for (; sent < 5000; ++sent) {
    if (send(deaf->get(), msg.data(), msg.size(), MSG_DONTWAIT | MSG_NOSIGNAL) < 0) break;
  }
  EXPECT_GT(sent, 0);
  // Everyone else is served meanwhile.
  EXPECT_EQ(AllocErrno(d, "system", 4096), 0);
  int status = -1;
  EXPECT_NE(d.Control(Op::kStats, &status), "");
  EXPECT_EQ(status, 0);
  // Once the deaf client goes, every buffer it was sent is released.
  deaf->reset();
  silent->reset();
  d.Control(Op::kBarrier);
  EXPECT_EQ(d.Stat("memory", "free_pages"), total);
  EXPECT_EQ(d.Stat("heap system", "buffers"), 0);
  EXPECT_EQ(d.BufferFdsHeld(), 0);
}

}  // namespace
}  // namespace dmaheap
