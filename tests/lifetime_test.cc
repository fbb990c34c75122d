// Buffer lifetime across real processes: a buffer is released when its last fd and its last
// mapping are gone, in whatever processes hold them — and not a moment earlier.

#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstring>

#include "dmaheap/dmaheap.h"
#include "dmaheap/fd_passing.h"
#include "test_util.h"

namespace dmaheap {
namespace {

using testing_util::Child;

constexpr size_t kLen = 1 << 20;
constexpr uint64_t kPages = kLen / 4096;

uint8_t PatternA(size_t i) { return static_cast<uint8_t>(i * 7 + 1); }
uint8_t PatternB(size_t i) { return static_cast<uint8_t>(i * 13 + 5); }

class LifetimeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    sys_ = testing_util::BootSystem(uint64_t{32} << 20);
    initial_ = sys_->Stats();
    int sv[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
    parent_sock_.reset(sv[0]);
    child_sock_.reset(sv[1]);
  }
  void TearDown() override {
    // Every page back, and the free lists exactly as at boot (all merges happened).
    MemoryStats end = sys_->Stats();
    EXPECT_EQ(end.free_pages, initial_.free_pages);
    EXPECT_EQ(end.free_blocks, initial_.free_blocks);
  }
  uint64_t Used() { return initial_.free_pages - sys_->Stats().free_pages; }
  // One-byte commands and answers between parent and child.
  static bool Send(int sock, char c) { return write(sock, &c, 1) == 1; }
  static char Recv(int sock) {
    char c = 0;
    return read(sock, &c, 1) == 1 ? c : 0;
  }

  std::unique_ptr<System> sys_;
  MemoryStats initial_;
  UniqueFd parent_sock_;
  UniqueFd child_sock_;
};

// The child is forked before the buffer exists; it gets the buffer only through SCM_RIGHTS.
TEST_F(LifetimeTest, ReceiverMappingKeepsPagesUntilItsMunmap) {
  Child child([&] {
    parent_sock_.reset();
    const int sock = child_sock_.get();
    char tag;
    auto got = RecvFd(sock, &tag, 1);
    if (!got.ok() || !got->fd) return 1;
    void* p = mmap(nullptr, kLen, PROT_READ | PROT_WRITE, MAP_SHARED, got->fd.get(), 0);
    if (p == MAP_FAILED) return 2;
    auto* bytes = static_cast<uint8_t*>(p);
    for (size_t i = 0; i < kLen / 2; ++i) {
      if (bytes[i] != PatternA(i)) return 3;
    }
    for (size_t i = kLen / 2; i < kLen; ++i) bytes[i] = PatternB(i);
    got->fd.reset();  // only the mapping holds the buffer now
    if (!Send(sock, 'w')) return 4;
    if (Recv(sock) != 'u') return 5;
    munmap(p, kLen);
    return Send(sock, 'd') ? 0 : 6;
  });
  child_sock_.reset();

  auto fd = sys_->Allocate("system", kLen);
  ASSERT_TRUE(fd.ok());
  auto map = Mapping::Map(fd->get(), kLen);
  ASSERT_TRUE(map.ok());
  for (size_t i = 0; i < kLen / 2; ++i) map->bytes()[i] = PatternA(i);
  char tag = 'b';
  ASSERT_TRUE(SendFd(parent_sock_.get(), fd->get(), &tag, 1).ok());
  ASSERT_EQ(Recv(parent_sock_.get()), 'w');
  // What the child wrote is visible here: one memory, two processes.
  for (size_t i = kLen / 2; i < kLen; ++i) ASSERT_EQ(map->bytes()[i], PatternB(i)) << i;

  fd->reset();
  map->reset();
  EXPECT_EQ(Used(), kPages) << "the child's mapping still holds the buffer";
  ASSERT_TRUE(Send(parent_sock_.get(), 'u'));
  ASSERT_EQ(Recv(parent_sock_.get()), 'd');
  EXPECT_EQ(Used(), 0u) << "released at the child's munmap";
  EXPECT_EQ(child.Wait(), 0);
}

TEST_F(LifetimeTest, ForkedChildHoldsInheritedFd) {
  auto fd = sys_->Allocate("system", kLen);
  ASSERT_TRUE(fd.ok());
  Child child([&] {
    parent_sock_.reset();
    // Holds the inherited buffer fd until the parent says so.
    return Recv(child_sock_.get()) == 'x' ? 0 : 1;
  });
  child_sock_.reset();
  fd->reset();
  EXPECT_EQ(Used(), kPages);
  ASSERT_TRUE(Send(parent_sock_.get(), 'x'));
  EXPECT_EQ(child.Wait(), 0);
  EXPECT_EQ(Used(), 0u);
}

TEST_F(LifetimeTest, FdInFlightKeepsTheBufferUntilReceivedAndClosed) {
  auto fd = sys_->Allocate("system", kLen);
  ASSERT_TRUE(fd.ok());
  char tag = 'f';
  ASSERT_TRUE(SendFd(parent_sock_.get(), fd->get(), &tag, 1).ok());
  fd->reset();
  EXPECT_EQ(Used(), kPages) << "the fd in the socket queue holds it";
  auto got = RecvFd(child_sock_.get(), &tag, 1);
  ASSERT_TRUE(got.ok());
  ASSERT_TRUE(got->fd.valid());
  EXPECT_EQ(Used(), kPages);
  got->fd.reset();
  EXPECT_EQ(Used(), 0u);
}

TEST_F(LifetimeTest, ClosingTheSocketDropsAnFdInFlight) {
  auto fd = sys_->Allocate("system", kLen);
  ASSERT_TRUE(fd.ok());
  char tag = 'f';
  ASSERT_TRUE(SendFd(parent_sock_.get(), fd->get(), &tag, 1).ok());
  fd->reset();
  EXPECT_EQ(Used(), kPages);
  child_sock_.reset();   // the queued message is purged with the receiving socket
  parent_sock_.reset();
  EXPECT_EQ(Used(), 0u);
}

TEST_F(LifetimeTest, DupAcrossProcessesAndOrders) {
  auto fd = sys_->Allocate("system", kLen);
  ASSERT_TRUE(fd.ok());
  UniqueFd dup_fd(dup(fd->get()));
  Child child([&] {
    parent_sock_.reset();
    char tag;
    auto got = RecvFd(child_sock_.get(), &tag, 1);
    if (!got.ok() || !got->fd) return 1;
    return Recv(child_sock_.get()) == 'x' ? 0 : 2;  // inherited fd + dup + received fd
  });
  child_sock_.reset();
  char tag = 'd';
  ASSERT_TRUE(SendFd(parent_sock_.get(), dup_fd.get(), &tag, 1).ok());
  fd->reset();
  dup_fd.reset();
  EXPECT_EQ(Used(), kPages);
  ASSERT_TRUE(Send(parent_sock_.get(), 'x'));
  EXPECT_EQ(child.Wait(), 0);
  EXPECT_EQ(Used(), 0u);
}

}  // namespace
}  // namespace dmaheap
