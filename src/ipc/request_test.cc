// The daemon's side of the wire protocol, rule by rule as request.h lists them: framing
// (DecodeRequest), what a heap socket accepts (DecodeHeapRequest), what the control socket
// accepts (CheckControlRequest) — each refusal with its errno and without keeping an fd — and
// replies (SendReply) as the client's Call receives them.

#include "ipc/request.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "dmaheap/uapi/linux/dma-buf.h"
#include "dmaheap/uapi/linux/dma-heap.h"
#include "ipc/transport.h"
#include "platform/scm.h"
#include "test_util.h"

namespace dmaheap {
namespace {

using testing_util::FdsWithTarget;

constexpr size_t kHeader = sizeof(RequestHeader);
constexpr size_t kAllocArg = sizeof(dma_heap_allocation_data);

size_t OpenFdCount() { return FdsWithTarget("").size(); }

// The bytes of one request message. `len` is the header's length field: the payload's unless a
// test lies about it.
std::vector<uint8_t> Message(Op op, uint64_t cmd, const std::string& payload,
                             uint32_t magic = kProtocolMagic, uint32_t reserved = 0,
                             int64_t len = -1) {
  const uint32_t header_len =
      len < 0 ? static_cast<uint32_t>(payload.size()) : static_cast<uint32_t>(len);
  RequestHeader h{magic, static_cast<uint32_t>(op), cmd, header_len, reserved};
  std::vector<uint8_t> out(kHeader + payload.size());
  std::memcpy(out.data(), &h, kHeader);
  std::memcpy(out.data() + kHeader, payload.data(), payload.size());
  return out;
}

std::vector<UniqueFd> Memfds(size_t count) {
  std::vector<UniqueFd> out;
  for (size_t i = 0; i < count; ++i) out.emplace_back(memfd_create("request_test", MFD_CLOEXEC));
  return out;
}

ucred Root() { return ucred{getpid(), 0, 0}; }

RawRequest Raw(const std::vector<uint8_t>& bytes, int msg_flags = 0, size_t fds = 0) {
  RawRequest raw;
  raw.bytes = bytes;
  raw.msg_flags = msg_flags;
  raw.cred = Root();
  raw.fds = Memfds(fds);
  return raw;
}

// A request that passed framing, for the per-socket rules. Its payload is a view of `payload`,
// which must outlive it.
Request Decoded(Op op, const std::string& payload, size_t fds = 0, uint64_t cmd = 0,
                ucred cred = Root()) {
  Request r;
  r.op = op;
  r.cmd = cmd;
  r.payload = {reinterpret_cast<const uint8_t*>(payload.data()), payload.size()};
  r.cred = cred;
  r.fds = Memfds(fds);
  return r;
}

// The ALLOC argument bytes followed by `name`.
std::string AllocPayload(const std::string& name) {
  dma_heap_allocation_data arg{4096, 0, O_RDWR | O_CLOEXEC, 0};
  std::string out(reinterpret_cast<const char*>(&arg), kAllocArg);
  return out + name;
}

// ---- DecodeRequest -----------------------------------------------------------------------

TEST(DecodeRequestTest, GoodRequestCarriesItsFieldsPayloadAndFds) {
  const std::vector<uint8_t> bytes = Message(Op::kHeapIoctl, DMA_HEAP_IOCTL_ALLOC, "argument");
  RawRequest raw = Raw(bytes, 0, 1);
  raw.cred = ucred{1234, 1000, 100};
  const int fd = raw.fds[0].get();
  Result<Request> r = DecodeRequest(std::move(raw));
  ASSERT_TRUE(r.ok()) << strerror(r.error());
  EXPECT_EQ(r->op, Op::kHeapIoctl);
  EXPECT_EQ(r->cmd, uint64_t{DMA_HEAP_IOCTL_ALLOC});
  ASSERT_EQ(r->payload.size(), 8u);
  EXPECT_EQ(r->payload.data(), bytes.data() + kHeader) << "points into the message";
  EXPECT_EQ(std::string(r->payload.begin(), r->payload.end()), "argument");
  EXPECT_EQ(r->cred.pid, 1234);
  EXPECT_EQ(r->cred.uid, 1000u);
  EXPECT_EQ(r->cred.gid, 100u);
  ASSERT_EQ(r->fds.size(), 1u);
  EXPECT_EQ(r->fds[0].get(), fd) << "the raw request's fd, moved";
}

TEST(DecodeRequestTest, HeaderAloneAndLargestPayloadAreFine) {
  const std::vector<uint8_t> empty = Message(Op::kBarrier, 0, "");
  Result<Request> r = DecodeRequest(Raw(empty));
  ASSERT_TRUE(r.ok());
  EXPECT_TRUE(r->payload.empty());
  const std::vector<uint8_t> largest = Message(Op::kStats, 0, std::string(kMaxPayload, 'x'));
  Result<Request> l = DecodeRequest(Raw(largest));
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(l->payload.size(), kMaxPayload);
}

TEST(DecodeRequestTest, TruncatedOrOversizedIsEmsgsize) {
  const std::vector<uint8_t> good = Message(Op::kStats, 0, "abc");
  EXPECT_EQ(DecodeRequest(Raw(good, MSG_TRUNC)).error(), EMSGSIZE);
  // The size rule comes first: cut data and cut control data together are EMSGSIZE.
  EXPECT_EQ(DecodeRequest(Raw(good, MSG_TRUNC | MSG_CTRUNC)).error(), EMSGSIZE);
  const std::vector<uint8_t> oversized = Message(Op::kStats, 0, std::string(kMaxPayload + 1, 'x'));
  EXPECT_EQ(DecodeRequest(Raw(oversized)).error(), EMSGSIZE);
}

TEST(DecodeRequestTest, CutControlDataIsEinval) {
  const std::vector<uint8_t> good = Message(Op::kSetName, 0, "name");
  EXPECT_EQ(DecodeRequest(Raw(good, MSG_CTRUNC, sys::kMaxFdsPerMessage)).error(), EINVAL);
}

TEST(DecodeRequestTest, BadFramingIsEbadmsg) {
  const std::vector<uint8_t> good = Message(Op::kStats, 0, "abcd");
  for (size_t n : {size_t{0}, size_t{1}, kHeader - 1}) {
    SCOPED_TRACE(n);
    const std::vector<uint8_t> shorter(good.begin(), good.begin() + n);
    EXPECT_EQ(DecodeRequest(Raw(shorter)).error(), EBADMSG);
  }
  EXPECT_EQ(DecodeRequest(Raw(Message(Op::kStats, 0, "abcd", kProtocolMagic + 1))).error(),
            EBADMSG);
  EXPECT_EQ(DecodeRequest(Raw(Message(Op::kStats, 0, "abcd", 0))).error(), EBADMSG);
  EXPECT_EQ(DecodeRequest(Raw(Message(Op::kStats, 0, "abcd", kProtocolMagic, 1))).error(), EBADMSG);
  EXPECT_EQ(DecodeRequest(Raw(Message(Op::kStats, 0, "abcd", kProtocolMagic, 0x80000000))).error(),
            EBADMSG);
  EXPECT_EQ(DecodeRequest(Raw(Message(Op::kStats, 0, "abcd", kProtocolMagic, 0, 3))).error(),
            EBADMSG);
  EXPECT_EQ(DecodeRequest(Raw(Message(Op::kStats, 0, "abcd", kProtocolMagic, 0, 5))).error(),
            EBADMSG);
  // A header length larger than anything that fits, over an empty payload.
  EXPECT_EQ(DecodeRequest(Raw(Message(Op::kStats, 0, "", kProtocolMagic, 0, 0xffffffff))).error(),
            EBADMSG);
}

TEST(DecodeRequestTest, RefusedRequestsCloseTheirFds) {
  const size_t before = OpenFdCount();
  const std::vector<uint8_t> good = Message(Op::kSetName, 0, "x");
  const std::vector<uint8_t> bad_magic = Message(Op::kSetName, 0, "x", 0);
  EXPECT_EQ(DecodeRequest(Raw(good, MSG_TRUNC, 2)).error(), EMSGSIZE);
  EXPECT_EQ(DecodeRequest(Raw(good, MSG_CTRUNC, 3)).error(), EINVAL);
  EXPECT_EQ(DecodeRequest(Raw(bad_magic, 0, 1)).error(), EBADMSG);
  EXPECT_EQ(OpenFdCount(), before);
}

// ---- DecodeHeapRequest -------------------------------------------------------------------

// DecodeHeapRequest's errno (0: accepted) for a request with `fds` fresh fds; checks that none
// of them outlives the request.
int HeapErrno(Op op, const std::string& payload, size_t fds = 0, uint64_t cmd = 0) {
  const size_t before = OpenFdCount();
  int err = 0;
  {
    Request request = Decoded(op, payload, fds, cmd);
    err = DecodeHeapRequest(request).error();
  }
  EXPECT_EQ(OpenFdCount(), before) << "fds of the request outlived it";
  return err;
}

TEST(DecodeHeapRequestTest, HeapIoctl) {
  const std::string arg = AllocPayload("");
  Request request = Decoded(Op::kHeapIoctl, arg, 0, DMA_HEAP_IOCTL_ALLOC);
  Result<HeapRequest> r = DecodeHeapRequest(request);
  ASSERT_TRUE(r.ok()) << strerror(r.error());
  EXPECT_EQ(r->kind, HeapRequest::Kind::kIoctl);
  EXPECT_EQ(r->cmd, DMA_HEAP_IOCTL_ALLOC);
  EXPECT_EQ(r->arg.data(), request.payload.data());
  EXPECT_EQ(r->arg.size(), kAllocArg);
  EXPECT_TRUE(r->name.empty());
  EXPECT_EQ(r->buffer_fd, -1);

  // Any ioctl number and argument size is passed on: the ioctl's own rules judge them.
  Request other = Decoded(Op::kHeapIoctl, "", 0, 0x1234);
  Result<HeapRequest> o = DecodeHeapRequest(other);
  ASSERT_TRUE(o.ok());
  EXPECT_EQ(o->cmd, 0x1234u);
  EXPECT_TRUE(o->arg.empty());
}

TEST(DecodeHeapRequestTest, HeapIoctlWithAnFdIsEinval) {
  EXPECT_EQ(HeapErrno(Op::kHeapIoctl, AllocPayload(""), 1, DMA_HEAP_IOCTL_ALLOC), EINVAL);
  EXPECT_EQ(HeapErrno(Op::kHeapIoctl, "", sys::kMaxFdsPerMessage), EINVAL);
}

TEST(DecodeHeapRequestTest, AllocNamed) {
  for (const std::string& name :
       {std::string(), std::string("preview"), std::string(DMA_BUF_NAME_LEN - 1, 'n')}) {
    SCOPED_TRACE(name.size());
    const std::string payload = AllocPayload(name);
    Request request = Decoded(Op::kAllocNamed, payload, 0, 0xdead);
    Result<HeapRequest> r = DecodeHeapRequest(request);
    ASSERT_TRUE(r.ok()) << strerror(r.error());
    EXPECT_EQ(r->kind, HeapRequest::Kind::kIoctl);
    EXPECT_EQ(r->cmd, DMA_HEAP_IOCTL_ALLOC) << "whatever cmd the header carried";
    EXPECT_EQ(r->arg.data(), request.payload.data());
    EXPECT_EQ(r->arg.size(), kAllocArg);
    EXPECT_EQ(r->name, name);
  }
}

TEST(DecodeHeapRequestTest, AllocNamedRefusals) {
  EXPECT_EQ(HeapErrno(Op::kAllocNamed, ""), EINVAL);
  EXPECT_EQ(HeapErrno(Op::kAllocNamed, AllocPayload("").substr(0, kAllocArg - 1)), EINVAL);
  EXPECT_EQ(HeapErrno(Op::kAllocNamed, AllocPayload(std::string(DMA_BUF_NAME_LEN, 'n'))), EINVAL);
  EXPECT_EQ(HeapErrno(Op::kAllocNamed, AllocPayload(std::string("ab\0cd", 5))), EINVAL);
  EXPECT_EQ(HeapErrno(Op::kAllocNamed, AllocPayload(std::string("name\0", 5))), EINVAL)
      << "the name travels without its NUL";
  EXPECT_EQ(HeapErrno(Op::kAllocNamed, AllocPayload("ok"), 1), EINVAL);
}

TEST(DecodeHeapRequestTest, SetNameWithOneFd) {
  for (const std::string& name :
       {std::string(), std::string("camera0"), std::string(DMA_BUF_NAME_LEN - 1, 'n')}) {
    SCOPED_TRACE(name.size());
    Request request = Decoded(Op::kSetName, name, 1);
    Result<HeapRequest> r = DecodeHeapRequest(request);
    ASSERT_TRUE(r.ok()) << strerror(r.error());
    EXPECT_EQ(r->kind, HeapRequest::Kind::kSetName);
    EXPECT_EQ(r->name, name);
    EXPECT_EQ(r->buffer_fd, request.fds[0].get()) << "owned by the request";
  }
}

TEST(DecodeHeapRequestTest, SetNameRefusals) {
  EXPECT_EQ(HeapErrno(Op::kSetName, "name", 0), EBADF);
  EXPECT_EQ(HeapErrno(Op::kSetName, "name", 2), EBADF);
  EXPECT_EQ(HeapErrno(Op::kSetName, std::string(DMA_BUF_NAME_LEN, 'n'), 0), EBADF)
      << "the fd count is checked before the name";
  EXPECT_EQ(HeapErrno(Op::kSetName, std::string(DMA_BUF_NAME_LEN, 'n'), 1), EINVAL);
  EXPECT_EQ(HeapErrno(Op::kSetName, std::string(100, 'n'), 1), EINVAL);
  EXPECT_EQ(HeapErrno(Op::kSetName, std::string("a\0b", 3), 1), EINVAL);
}

// kSync: one fd (the buffer), the kernel's SYNC flags in cmd, nothing else.
TEST(DecodeHeapRequestTest, SyncCarriesOneBufferAndValidFlags) {
  Request request = Decoded(Op::kSync, "", 1, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ);
  Result<HeapRequest> r = DecodeHeapRequest(request);
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->kind, HeapRequest::Kind::kSync);
  EXPECT_EQ(r->sync_flags, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ);
  EXPECT_EQ(r->buffer_fd, request.fds[0].get());
  EXPECT_EQ(HeapErrno(Op::kSync, "", 0, DMA_BUF_SYNC_READ), EBADF);
  EXPECT_EQ(HeapErrno(Op::kSync, "", 2, DMA_BUF_SYNC_READ), EBADF);
  EXPECT_EQ(HeapErrno(Op::kSync, "", 1, DMA_BUF_SYNC_END), EINVAL) << "neither READ nor WRITE";
  EXPECT_EQ(HeapErrno(Op::kSync, "", 1, 0x8 | DMA_BUF_SYNC_READ), EINVAL) << "unknown flag";
  EXPECT_EQ(HeapErrno(Op::kSync, "x", 1, DMA_BUF_SYNC_READ), EINVAL) << "a payload";
}

TEST(DecodeHeapRequestTest, HeapInfoTakesNothing) {
  Request request = Decoded(Op::kHeapInfo, "");
  Result<HeapRequest> r = DecodeHeapRequest(request);
  ASSERT_TRUE(r.ok()) << strerror(r.error());
  EXPECT_EQ(r->kind, HeapRequest::Kind::kInfo);
  EXPECT_TRUE(r->name.empty());
  EXPECT_EQ(r->buffer_fd, -1);
  EXPECT_EQ(HeapErrno(Op::kHeapInfo, "", 1), EINVAL);  // and the fd is closed (HeapErrno checks)
  EXPECT_EQ(HeapErrno(Op::kHeapInfo, "x"), EINVAL);
}

// The properties travel as bits; a heap whose CPU mappings are uncached (write-combined) is
// told apart from a cached one, which is what the sync sanitizer asks.
TEST(EncodeHeapInfoTest, PropertiesBecomeBits) {
  const HeapInfo system = EncodeHeapInfo(HeapProperties{});
  EXPECT_EQ(system.flags, kHeapInfoCached | kHeapInfoZeroed);
  EXPECT_EQ(system.reserved, 0u);
  EXPECT_EQ(system.max_size, 0u);
  HeapProperties uncached_contiguous;
  uncached_contiguous.cached = false;
  uncached_contiguous.contiguous = true;
  uncached_contiguous.zeroed_on_alloc = false;
  uncached_contiguous.max_size = 64 << 20;
  const HeapInfo info = EncodeHeapInfo(uncached_contiguous);
  EXPECT_EQ(info.flags, kHeapInfoContiguous);
  EXPECT_EQ(info.max_size, uint64_t{64} << 20);
}

TEST(DecodeHeapRequestTest, ControlAndUnknownOpsAreEopnotsupp) {
  for (uint32_t op : {0u, 6u, 15u, 16u, 17u, 18u, 19u, 20u, 21u, 22u, 23u, 24u, 25u, 32u, 33u, 35u,
                      0xffffffffu}) {
    SCOPED_TRACE(op);
    EXPECT_EQ(HeapErrno(static_cast<Op>(op), ""), EOPNOTSUPP);
    EXPECT_EQ(HeapErrno(static_cast<Op>(op), "", 1), EOPNOTSUPP);
  }
}

// ---- CheckControlRequest -----------------------------------------------------------------

constexpr Op kControlOps[] = {Op::kStats,    Op::kBarrier, Op::kBufInfo, Op::kInsmod, Op::kRmmod,
                              Op::kModprobe, Op::kLsmod,   Op::kModinfo, Op::kCma,    Op::kDmesg};

TEST(CheckControlRequestTest, EveryControlOpFromRoot) {
  for (Op op : kControlOps) {
    SCOPED_TRACE(static_cast<uint32_t>(op));
    EXPECT_TRUE(CheckControlRequest(Decoded(op, "arg")).ok());
  }
}

TEST(CheckControlRequestTest, NonRootIsEpermFirst) {
  for (uid_t uid : {uid_t{1}, uid_t{1000}, uid_t{65534}}) {
    SCOPED_TRACE(uid);
    const ucred user{getpid(), uid, 0};
    EXPECT_EQ(CheckControlRequest(Decoded(Op::kStats, "", 0, 0, user)).error(), EPERM);
    EXPECT_EQ(CheckControlRequest(Decoded(Op::kHeapIoctl, "", 1, 0, user)).error(), EPERM);
  }
  // gid 0 alone is not root.
  EXPECT_EQ(CheckControlRequest(Decoded(Op::kStats, "", 0, 0, ucred{getpid(), 1000, 0})).error(),
            EPERM);
}

TEST(CheckControlRequestTest, FdsAreEinval) {
  const size_t before = OpenFdCount();
  for (Op op : kControlOps) {
    SCOPED_TRACE(static_cast<uint32_t>(op));
    EXPECT_EQ(CheckControlRequest(Decoded(op, "", 1)).error(), EINVAL);
  }
  EXPECT_EQ(CheckControlRequest(Decoded(Op::kHeapIoctl, "", 1)).error(), EINVAL)
      << "fds are checked before the op";
  EXPECT_EQ(OpenFdCount(), before);
}

TEST(CheckControlRequestTest, HeapAndUnknownOpsAreEopnotsupp) {
  for (uint32_t op : {0u, 1u, 2u, 3u, 4u, 15u, 26u, 0xffffffffu}) {
    SCOPED_TRACE(op);
    EXPECT_EQ(CheckControlRequest(Decoded(static_cast<Op>(op), "")).error(), EOPNOTSUPP);
  }
}

// ---- SendReply ---------------------------------------------------------------------------

// A client socket and the daemon's end of the connection (non-blocking, with SO_PASSCRED, as
// the daemon accepts them). The daemon's side runs on a thread; Call runs here.
class SendReplyTest : public ::testing::Test {
 protected:
  void SetUp() override { Connect(); }

  // A new connection, replacing the one a RoundTrip closed.
  void Connect() {
    int sv[2];
    ASSERT_EQ(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
    client_.reset(sv[0]);
    daemon_.reset(sv[1]);
    daemon_had_cred_ = daemon_decoded_ = reply_sent_ = false;
    const int one = 1;
    ASSERT_EQ(setsockopt(daemon_.get(), SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)), 0);
    ASSERT_EQ(fcntl(daemon_.get(), F_SETFL, O_NONBLOCK), 0);
  }

  // One round trip: Call here; on the daemon's side the request is received and decoded, and
  // `reply` answers it. Each side shuts its end when done, so a reply cut short (or never sent)
  // is an error on the other side rather than a hang.
  Result<Reply> RoundTrip(Op op, const std::string& payload, int send_fd,
                          const std::function<bool(int sock, Request&)>& reply) {
    std::thread daemon([&] {
      Serve(reply);
      shutdown(daemon_.get(), SHUT_RDWR);
    });
    Result<Reply> out = Call(client_.get(), op, 7, payload.data(), payload.size(), send_fd);
    client_.reset();
    daemon.join();
    return out;
  }

  void Serve(const std::function<bool(int sock, Request&)>& reply) {
    pollfd p{daemon_.get(), POLLIN, 0};
    if (poll(&p, 1, 10000) != 1) return;
    alignas(RequestHeader) uint8_t buf[kHeader + kMaxPayload + 1];
    iovec iov{buf, sizeof(buf)};
    Result<sys::ReceivedMessage> msg = sys::RecvWithFds(daemon_.get(), {&iov, 1});
    if (!msg.ok() || msg->len == 0) return;
    daemon_had_cred_ = msg->has_cred;
    Result<Request> request =
        DecodeRequest(RawRequest{{buf, msg->len}, msg->msg_flags, msg->cred, std::move(msg->fds)});
    daemon_decoded_ = request.ok();
    if (request.ok()) reply_sent_ = reply(daemon_.get(), *request);
  }

  UniqueFd client_;
  UniqueFd daemon_;
  bool daemon_had_cred_ = false;
  bool daemon_decoded_ = false;
  bool reply_sent_ = false;
};

TEST_F(SendReplyTest, ReplyWithAnFd) {
  UniqueFd buffer(memfd_create("request_test_reply", MFD_CLOEXEC));
  ASSERT_TRUE(buffer.valid());
  const std::string out_arg(kAllocArg, 'o');
  Result<Reply> reply = RoundTrip(Op::kHeapIoctl, AllocPayload(""), -1, [&](int sock, Request& r) {
    return r.op == Op::kHeapIoctl &&
           SendReply(sock, 0, out_arg.data(), out_arg.size(), buffer.get());
  });
  EXPECT_TRUE(daemon_had_cred_);
  EXPECT_TRUE(daemon_decoded_);
  EXPECT_TRUE(reply_sent_);
  ASSERT_TRUE(reply.ok()) << strerror(reply.error());
  EXPECT_EQ(reply->status, 0);
  EXPECT_EQ(std::string(reply->data.begin(), reply->data.end()), out_arg);
  ASSERT_TRUE(reply->fd.valid());
  EXPECT_EQ(fcntl(reply->fd.get(), F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
  struct stat sent {};
  struct stat got {};
  ASSERT_EQ(fstat(buffer.get(), &sent), 0);
  ASSERT_EQ(fstat(reply->fd.get(), &got), 0);
  EXPECT_EQ(got.st_ino, sent.st_ino);
}

// A request's fd reaches the daemon as the one kSetName acts on.
TEST_F(SendReplyTest, SetNameCarriesItsFd) {
  UniqueFd buffer(memfd_create("request_test_setname", MFD_CLOEXEC));
  ASSERT_TRUE(buffer.valid());
  struct stat sent {};
  ASSERT_EQ(fstat(buffer.get(), &sent), 0);
  ino_t seen = 0;
  std::string name;
  Result<Reply> reply =
      RoundTrip(Op::kSetName, "viewfinder", buffer.get(), [&](int sock, Request& r) {
        Result<HeapRequest> h = DecodeHeapRequest(r);
        struct stat st {};
        if (h.ok() && fstat(h->buffer_fd, &st) == 0) {
          seen = st.st_ino;
          name = std::string(h->name);
        }
        return SendReply(sock, h.ok() ? 0 : h.error(), nullptr, 0);
      });
  ASSERT_TRUE(reply.ok()) << strerror(reply.error());
  EXPECT_EQ(reply->status, 0);
  EXPECT_EQ(seen, sent.st_ino);
  EXPECT_EQ(name, "viewfinder");
  EXPECT_FALSE(reply->fd.valid());
}

TEST_F(SendReplyTest, ErrnoWithoutData) {
  Result<Reply> reply = RoundTrip(
      Op::kStats, "", -1, [](int sock, Request&) { return SendReply(sock, EPERM, nullptr, 0); });
  ASSERT_TRUE(reply.ok()) << strerror(reply.error());
  EXPECT_EQ(reply->status, EPERM);
  EXPECT_TRUE(reply->data.empty());
  EXPECT_FALSE(reply->fd.valid());
}

// Text longer than one message follows in plain chunks. The daemon's socket is non-blocking
// and the longest text far exceeds the socket buffer, so SendReply must wait for the reader.
TEST_F(SendReplyTest, LongTextArrivesWhole) {
  for (size_t len : {kMaxPayload, kMaxPayload + 1, 3 * kMaxPayload + 17, kMaxTextReply}) {
    SCOPED_TRACE(len);
    ASSERT_NO_FATAL_FAILURE(Connect());
    std::string text(len, '\0');
    for (size_t i = 0; i < len; ++i) text[i] = static_cast<char>('a' + (i * 7 + i / 4096) % 26);
    Result<Reply> reply = RoundTrip(Op::kBufInfo, "", -1, [&](int sock, Request&) {
      return SendReply(sock, 0, text.data(), text.size());
    });
    EXPECT_TRUE(reply_sent_);
    ASSERT_TRUE(reply.ok()) << strerror(reply.error());
    EXPECT_EQ(reply->status, 0);
    ASSERT_EQ(reply->data.size(), len);
    EXPECT_TRUE(std::string(reply->data.begin(), reply->data.end()) == text) << "bytes differ";
  }
}

TEST_F(SendReplyTest, GoneClientIsFalse) {
  client_.reset();
  EXPECT_FALSE(SendReply(daemon_.get(), 0, "x", 1));
  const std::string text(2 * kMaxPayload, 't');
  EXPECT_FALSE(SendReply(daemon_.get(), 0, text.data(), text.size()));
}

}  // namespace
}  // namespace dmaheap
