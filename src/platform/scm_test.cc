// SendWithFds / RecvWithFds over a SOCK_SEQPACKET socketpair: the payload, fds that refer to the
// sent files and arrive close-on-exec, the sender's credentials when the receiver asked for
// them, and what the flags say when the payload or the fds do not fit — without an fd leaking.

#include "platform/scm.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <string>
#include <vector>

#include "test_util.h"

namespace dmaheap::sys {
namespace {

using testing_util::FdsWithTarget;

size_t OpenFdCount() { return FdsWithTarget("").size(); }

ino_t InodeOf(int fd) {
  struct stat st {};
  EXPECT_EQ(fstat(fd, &st), 0) << fd;
  return st.st_ino;
}

class ScmTest : public ::testing::Test {
 protected:
  void SetUp() override {
    int sv[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
    sender_.reset(sv[0]);
    receiver_.reset(sv[1]);
  }

  Result<size_t> Send(const std::string& text, std::span<const int> fds = {}) {
    const iovec iov{const_cast<char*>(text.data()), text.size()};
    return SendWithFds(sender_.get(), {&iov, 1}, fds);
  }

  // Receives into a buffer of `room` bytes; the bytes that arrived are in received_.
  Result<ReceivedMessage> Recv(size_t room) {
    received_.assign(room, '\0');
    iovec iov{received_.data(), received_.size()};
    return RecvWithFds(receiver_.get(), {&iov, 1});
  }

  void PassCred() {
    const int one = 1;
    ASSERT_EQ(setsockopt(receiver_.get(), SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)), 0);
  }

  // Sends one byte with `fds` attached by a raw sendmsg, past SendWithFds's own limit.
  void RawSendFds(const std::vector<UniqueFd>& fds) {
    std::vector<int> numbers;
    for (const UniqueFd& fd : fds) numbers.push_back(fd.get());
    std::vector<char> control(CMSG_SPACE(sizeof(int) * numbers.size()));
    char byte = 'x';
    iovec iov{&byte, 1};
    msghdr msg{};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.data();
    msg.msg_controllen = control.size();
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int) * numbers.size());
    std::memcpy(CMSG_DATA(c), numbers.data(), sizeof(int) * numbers.size());
    ASSERT_EQ(sendmsg(sender_.get(), &msg, MSG_NOSIGNAL), 1) << strerror(errno);
  }

  static std::vector<UniqueFd> Memfds(size_t count) {
    std::vector<UniqueFd> out;
    for (size_t i = 0; i < count; ++i) out.emplace_back(memfd_create("scm_test", MFD_CLOEXEC));
    for (const UniqueFd& fd : out) EXPECT_TRUE(fd.valid());
    return out;
  }

  UniqueFd sender_;
  UniqueFd receiver_;
  std::string received_;
};

TEST_F(ScmTest, PayloadAndFdsArrive) {
  std::vector<UniqueFd> files = Memfds(2);
  const std::array<int, 2> fds = {files[0].get(), files[1].get()};
  Result<size_t> sent = Send("hello", fds);
  ASSERT_TRUE(sent.ok()) << strerror(sent.error());
  EXPECT_EQ(*sent, 5u);

  Result<ReceivedMessage> msg = Recv(64);
  ASSERT_TRUE(msg.ok()) << strerror(msg.error());
  EXPECT_EQ(msg->len, 5u);
  EXPECT_EQ(received_.substr(0, msg->len), "hello");
  EXPECT_EQ(msg->msg_flags & (MSG_TRUNC | MSG_CTRUNC), 0);
  ASSERT_EQ(msg->fds.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    SCOPED_TRACE(i);
    ASSERT_TRUE(msg->fds[i].valid());
    EXPECT_NE(msg->fds[i].get(), files[i].get()) << "a new descriptor, not the sender's number";
    EXPECT_EQ(fcntl(msg->fds[i].get(), F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
    EXPECT_EQ(InodeOf(msg->fds[i].get()), InodeOf(files[i].get())) << "the same file, in order";
  }
}

TEST_F(ScmTest, NoFdsNoCredentialsUnlessAsked) {
  ASSERT_TRUE(Send("plain").ok());
  Result<ReceivedMessage> msg = Recv(64);
  ASSERT_TRUE(msg.ok());
  EXPECT_EQ(msg->len, 5u);
  EXPECT_TRUE(msg->fds.empty());
  EXPECT_FALSE(msg->has_cred) << "SO_PASSCRED is off on the receiver";
}

TEST_F(ScmTest, CredentialsArriveWithPassCred) {
  PassCred();
  ASSERT_TRUE(Send("who").ok());
  Result<ReceivedMessage> msg = Recv(64);
  ASSERT_TRUE(msg.ok());
  ASSERT_TRUE(msg->has_cred);
  EXPECT_EQ(msg->cred.pid, getpid());
  EXPECT_EQ(msg->cred.uid, getuid());
  EXPECT_EQ(msg->cred.gid, getgid());
}

// Credentials and fds share the control buffer: both arrive whole.
TEST_F(ScmTest, CredentialsAndFullFdCountTogether) {
  PassCred();
  std::vector<UniqueFd> files = Memfds(kMaxFdsPerMessage);
  std::vector<int> fds;
  for (const UniqueFd& f : files) fds.push_back(f.get());
  ASSERT_TRUE(Send("all", fds).ok());
  Result<ReceivedMessage> msg = Recv(64);
  ASSERT_TRUE(msg.ok());
  EXPECT_TRUE(msg->has_cred);
  EXPECT_EQ(msg->msg_flags & MSG_CTRUNC, 0);
  ASSERT_EQ(msg->fds.size(), kMaxFdsPerMessage);
  for (size_t i = 0; i < kMaxFdsPerMessage; ++i)
    EXPECT_EQ(InodeOf(msg->fds[i].get()), InodeOf(files[i].get())) << i;
}

TEST_F(ScmTest, SendRefusesMoreThanTheLimit) {
  std::vector<UniqueFd> files = Memfds(kMaxFdsPerMessage + 1);
  std::vector<int> fds;
  for (const UniqueFd& f : files) fds.push_back(f.get());
  EXPECT_EQ(Send("many", fds).error(), EINVAL);
  // Nothing was sent: the socket has no message waiting.
  char byte;
  EXPECT_EQ(recv(receiver_.get(), &byte, 1, MSG_DONTWAIT), -1);
  EXPECT_EQ(errno, EAGAIN);
}

TEST_F(ScmTest, PayloadTooLongIsTruncated) {
  const std::string text(100, 'p');
  ASSERT_TRUE(Send(text).ok());
  Result<ReceivedMessage> msg = Recv(10);
  ASSERT_TRUE(msg.ok());
  EXPECT_NE(msg->msg_flags & MSG_TRUNC, 0);
  EXPECT_EQ(msg->len, 10u) << "recvmsg reports the bytes copied without MSG_TRUNC in its flags";
  EXPECT_EQ(received_, std::string(10, 'p'));
}

// The daemon's sockets set SO_PASSCRED: room is left for the credentials and kMaxFdsPerMessage
// fds, so one fd more is cut, and the kernel closes the fds that did not fit.
TEST_F(ScmTest, MoreFdsThanTheLimitAreCutWithoutLeaking) {
  PassCred();
  const size_t before = OpenFdCount();
  {
    std::vector<UniqueFd> files = Memfds(kMaxFdsPerMessage + 1);
    ASSERT_NO_FATAL_FAILURE(RawSendFds(files));
  }
  EXPECT_EQ(OpenFdCount(), before) << "the message in flight holds the files, not fds";
  {
    Result<ReceivedMessage> msg = Recv(64);
    ASSERT_TRUE(msg.ok());
    EXPECT_NE(msg->msg_flags & MSG_CTRUNC, 0);
    EXPECT_TRUE(msg->has_cred);
    EXPECT_EQ(msg->fds.size(), kMaxFdsPerMessage) << "as many as the room left holds";
    EXPECT_EQ(OpenFdCount(), before + msg->fds.size()) << "every installed fd is owned";
  }
  EXPECT_EQ(OpenFdCount(), before);
}

// Without SO_PASSCRED the room kept for credentials could hold more fds: the limit is the same
// anyway, with the extra fds closed and the message marked cut.
TEST_F(ScmTest, TheLimitHoldsWithoutPassCredToo) {
  const size_t before = OpenFdCount();
  for (size_t sent : {kMaxFdsPerMessage + 1, 2 * kMaxFdsPerMessage, 4 * kMaxFdsPerMessage}) {
    SCOPED_TRACE(sent);
    {
      std::vector<UniqueFd> files = Memfds(sent);
      ASSERT_NO_FATAL_FAILURE(RawSendFds(files));
    }
    Result<ReceivedMessage> msg = Recv(64);
    ASSERT_TRUE(msg.ok());
    EXPECT_NE(msg->msg_flags & MSG_CTRUNC, 0);
    EXPECT_EQ(msg->fds.size(), kMaxFdsPerMessage);
    EXPECT_EQ(OpenFdCount(), before + kMaxFdsPerMessage) << "the extra fds are closed";
  }
  EXPECT_EQ(OpenFdCount(), before);
}

TEST_F(ScmTest, ClosedPeerGivesLengthZero) {
  sender_.reset();
  Result<ReceivedMessage> msg = Recv(64);
  ASSERT_TRUE(msg.ok()) << strerror(msg.error());
  EXPECT_EQ(msg->len, 0u);
  EXPECT_TRUE(msg->fds.empty());
}

TEST_F(ScmTest, SendToClosedPeerIsEpipeWithoutSignal) {
  receiver_.reset();
  EXPECT_EQ(Send("gone").error(), EPIPE) << "MSG_NOSIGNAL: an errno, not SIGPIPE";
}

}  // namespace
}  // namespace dmaheap::sys
