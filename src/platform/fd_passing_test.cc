// The public fd passing API (include/dmaheap/fd_passing.h) over a SOCK_SEQPACKET socketpair:
// a buffer fd with its payload, a message without an fd, and the errors a gone peer gives.

#include "dmaheap/fd_passing.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstring>

namespace dmaheap {
namespace {

class FdPassingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    int sv[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
    a_.reset(sv[0]);
    b_.reset(sv[1]);
  }
  UniqueFd a_;
  UniqueFd b_;
};

TEST_F(FdPassingTest, FdAndDataRoundTrip) {
  UniqueFd file(memfd_create("fd_passing_test", 0));  // not close-on-exec on this side
  ASSERT_TRUE(file.valid());
  ASSERT_EQ(write(file.get(), "contents", 8), 8);
  const char data[] = "frame 42";
  ASSERT_TRUE(SendFd(a_.get(), file.get(), data, sizeof(data)).ok());

  char got[64] = {};
  Result<ReceivedFd> r = RecvFd(b_.get(), got, sizeof(got));
  ASSERT_TRUE(r.ok()) << strerror(r.error());
  EXPECT_EQ(r->len, sizeof(data));
  EXPECT_STREQ(got, "frame 42");
  ASSERT_TRUE(r->fd.valid());
  EXPECT_EQ(fcntl(r->fd.get(), F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
  struct stat sent {};
  struct stat received {};
  ASSERT_EQ(fstat(file.get(), &sent), 0);
  ASSERT_EQ(fstat(r->fd.get(), &received), 0);
  EXPECT_EQ(received.st_ino, sent.st_ino);
  EXPECT_EQ(received.st_dev, sent.st_dev);
  // The same open file description: the sender's file offset is the receiver's.
  EXPECT_EQ(lseek(r->fd.get(), 0, SEEK_CUR), 8);
}

TEST_F(FdPassingTest, MessageWithoutFd) {
  const uint32_t value = 0xfeedbeef;
  ASSERT_TRUE(SendFd(a_.get(), -1, &value, sizeof(value)).ok());
  uint32_t got = 0;
  Result<ReceivedFd> r = RecvFd(b_.get(), &got, sizeof(got));
  ASSERT_TRUE(r.ok()) << strerror(r.error());
  EXPECT_EQ(r->len, sizeof(value));
  EXPECT_EQ(got, value);
  EXPECT_FALSE(r->fd.valid());
}

TEST_F(FdPassingTest, EmptyMessageIsRefused) {
  EXPECT_EQ(SendFd(a_.get(), -1, "", 0).error(), EINVAL);
  char byte;
  EXPECT_EQ(recv(b_.get(), &byte, 1, MSG_DONTWAIT), -1) << "nothing was sent";
  EXPECT_EQ(errno, EAGAIN);
}

TEST_F(FdPassingTest, ClosedPeerOnReceive) {
  a_.reset();
  char got[8];
  Result<ReceivedFd> r = RecvFd(b_.get(), got, sizeof(got));
  EXPECT_EQ(r.error(), ECONNRESET);
}

TEST_F(FdPassingTest, ClosedPeerOnSend) {
  b_.reset();
  EXPECT_EQ(SendFd(a_.get(), -1, "x", 1).error(), EPIPE);
}

}  // namespace
}  // namespace dmaheap
