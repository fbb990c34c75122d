#include "service/server.h"

#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "base/check.h"
#include "heap/heap_ioctl.h"
#include "platform/cgroup.h"
#include "platform/scm.h"
#include "platform/sys.h"
#include "ipc/device_wire.h"
#include "service/control.h"
#include "system/adopt.h"
#include "system/alloc_for.h"
#include "system/device_views.h"
#include "system/system_core.h"

namespace dmaheap {
namespace {

constexpr size_t kRecvBufSize = sizeof(RequestHeader) + kMaxPayload + 1;

// The caller's argument bytes, as the client copied them in; what is copied back is kept.
class PayloadArg final : public IoctlArg {
 public:
  explicit PayloadArg(std::span<const uint8_t> in) : in_(in) {}
  Result<void> CopyIn(void* dst, size_t len) override {
    if (len > in_.size()) return Errno(EFAULT);  // fewer bytes than the number says
    std::memcpy(dst, in_.data(), len);
    return {};
  }
  Result<void> CopyOut(const void* src, size_t len) override {
    out.assign(static_cast<const uint8_t*>(src), static_cast<const uint8_t*>(src) + len);
    return {};
  }
  std::vector<uint8_t> out;

 private:
  std::span<const uint8_t> in_;
};

// Keeps the new buffer fd until it is sent; the client patches its own fd number in.
class SendFdInstaller final : public FdInstaller {
 public:
  Result<int> Install(UniqueFd fd, bool /*cloexec*/) override {
    fd_ = std::move(fd);
    return 0;
  }
  UniqueFd fd_;
};

}  // namespace

Result<std::unique_ptr<Server>> Server::Create(SystemCore& core, ServerConfig config) {
  std::unique_ptr<Server> server(new Server(core, std::move(config)));
  server->epoll_fd_.reset(::epoll_create1(EPOLL_CLOEXEC));
  if (!server->epoll_fd_) return Errno(errno);
  server->reserve_fd_.reset(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  server->signal_fd_.reset(::signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK));
  if (!server->signal_fd_) return Errno(errno);
  const ServerConfig& cfg = server->config_;
  pid_t previous = 0;
  server->lock_ = TRY(InstanceLock::Take(
      cfg.lock_path.empty() ? cfg.heap_dir + ".lock" : cfg.lock_path, cfg.heap_dir, &previous));
  if (previous != 0 && previous != ::getpid())
    std::fprintf(stderr, "dmaheapd: the last daemon here (pid %d) is gone\n", previous);
  TRY(ClearStaleHeapDirectory(cfg.heap_dir, cfg.control_path));
  TRY(server->OpenBufferLog(cfg.state_path.empty() ? cfg.heap_dir + ".state" : cfg.state_path));
  server->dir_ = TRY(HeapDirectory::Create(server->config_, core.heaps().List()));
  server->limits_ = std::make_unique<AllocLimits>(cfg.limits, core.buffers());
  server->control_fd_ = TRY(ListenAt(server->config_.control_path, 0600));
  TRY(server->Watch(server->signal_fd_.get(), EPOLLIN));
  TRY(server->Watch(server->control_fd_.get(), EPOLLIN));
  if (!server->config_.device_path.empty()) {
    server->device_fd_ =
        TRY(ListenAt(server->config_.device_path, server->config_.device_mode));
    TRY(server->Watch(server->device_fd_.get(), EPOLLIN));
  }
  TRY(server->Watch(core.buffers().release_fd(), EPOLLIN));
  for (const HeapDirectory::Listener& l : server->dir_->listeners())
    TRY(server->Watch(l.fd, EPOLLIN));
  return server;
}

Server::~Server() {
  clients_.clear();
  dir_.reset();
  if (control_fd_) ::unlink(config_.control_path.c_str());
  if (device_fd_) ::unlink(config_.device_path.c_str());
}

Result<void> Server::Watch(int fd, uint32_t events) {
  epoll_event ev{};
  ev.events = events;
  ev.data.fd = fd;
  if (::epoll_ctl(epoll_fd_.get(), EPOLL_CTL_ADD, fd, &ev) != 0) return Errno(errno);
  return {};
}

Result<void> Server::Run() {
  epoll_event events[64];
  for (;;) {
    const int n = ::epoll_wait(epoll_fd_.get(), events, 64, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Errno(errno);
    }
    for (int i = 0; i < n; ++i) {
      const int fd = events[i].data.fd;
      if (fd == signal_fd_.get()) {
        signalfd_siginfo si{};
        (void)!::read(fd, &si, sizeof(si));
        std::fprintf(stderr, "dmaheapd: signal %u: shutting down\n", si.ssi_signo);
        return {};
      }
      if (fd == core_.buffers().release_fd()) {
        core_.Drain();
      } else if (fd == control_fd_.get() || fd == device_fd_.get() ||
                 dir_->HeapOf(fd) != nullptr) {
        Accept(fd);
      } else if (auto it = clients_.find(fd); it != clients_.end()) {
        if ((events[i].events & EPOLLIN) != 0) {
          Serve(*it->second);
        } else {
          Drop(fd);
        }
      }
    }
    GiveBackMemory();
  }
}

void Server::GiveBackMemory() {
  // After a burst (thousands of buffers gone since the last look) the allocator's free memory
  // goes back to the system: a daemon's RSS should not stay at its highest for good.
  const size_t live = core_.buffers().live_count();
  peak_live_ = std::max(peak_live_, live);
  if (peak_live_ - live < kTrimAfter) return;
  ::malloc_trim(0);
  peak_live_ = live;
}

void Server::Accept(int listen_fd) {
  for (;;) {
    const int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0 && (errno == EMFILE || errno == ENFILE)) {
      // Out of fds: a pending connection would keep the (level-triggered) listener readable
      // and spin the loop. Free the reserve fd, accept one connection and close it at once,
      // then go back to the loop so hang-ups of other clients are seen.
      if (!out_of_fds_)
        std::fprintf(stderr, "dmaheapd: out of file descriptors: refusing connections\n");
      out_of_fds_ = true;
      reserve_fd_.reset();
      UniqueFd refused(::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC));
      refused.reset();
      reserve_fd_.reset(::open("/dev/null", O_RDONLY | O_CLOEXEC));
      return;
    }
    if (fd < 0) return;  // EAGAIN, or the client went away already
    out_of_fds_ = false;
    UniqueFd owned(fd);
    ucred peer{};
    socklen_t peer_len = sizeof(peer);
    if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &peer, &peer_len) != 0) continue;
    if (!limits_->Connect(peer.uid)) continue;  // closed: past the uid's connection limit
    const int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one));
    auto client = std::make_unique<Client>();
    client->fd = std::move(owned);
    client->uid = peer.uid;
    client->heap = dir_->HeapOf(listen_fd);
    if (listen_fd == device_fd_.get()) {
      client->device = true;
      client->imports = std::make_unique<ImportTable>(core_, /*mark_mapped=*/true);
    }
    if (!Watch(fd, EPOLLIN | EPOLLRDHUP).ok()) {
      limits_->Disconnected(peer.uid);
      continue;
    }
    clients_[fd] = std::move(client);
  }
}

Result<void> Server::OpenBufferLog(const std::string& path) {
  BufferTable& buffers = core_.buffers();
  Result<LogContents> old = ReadBufferLog(path);
  if (old.ok()) {
    if (!old->corrupt.empty()) {
      std::fprintf(stderr,
                   "dmaheapd: buffer record %s is corrupt (%s): buffers recorded after that "
                   "point cannot be re-adopted\n",
                   path.c_str(), old->corrupt.c_str());
    }
    buffers.AdvanceIds(old->next_id);
    const AdoptReport report = AdoptBuffers(core_, old->records);
    for (const std::string& note : report.notes)
      std::fprintf(stderr, "dmaheapd: %s\n", note.c_str());
    std::fprintf(stderr,
                 "dmaheapd: re-adopted %zu of %zu recorded buffer(s); %zu were released before "
                 "the restart\n",
                 report.adopted.size(), old->records.size(), report.gone);
  } else if (old.error() != ENOENT) {
    std::fprintf(stderr, "dmaheapd: cannot read buffer record %s: %s; starting without it\n",
                 path.c_str(), std::strerror(old.error()));
  }
  std::vector<BufferRecord> live;
  for (const DmaBufRef& buf : buffers.Snapshot()) live.push_back(RecordOf(*buf));
  Result<BufferLog> log = BufferLog::Create(path, live, buffers.next_id());
  if (!log.ok()) {
    std::fprintf(stderr, "dmaheapd: cannot write buffer record %s: %s\n", path.c_str(),
                 std::strerror(log.error()));
    return Errno(log.error());
  }
  log_ = std::move(log).value();
  return {};
}

void Server::RecordBuffer(const DmaBuf& buf) {
  if (Result<void> r = log_.Append(RecordOf(buf)); !r.ok() && !log_failed_) {
    log_failed_ = true;
    std::fprintf(stderr,
                 "dmaheapd: cannot append to buffer record %s: %s; buffers allocated from now on "
                 "may not be re-adopted after a crash\n",
                 log_.path().c_str(), std::strerror(r.error()));
  }
  const size_t live = core_.buffers().live_count();
  if (!log_.Bloated(live)) return;
  std::vector<BufferRecord> records;
  records.reserve(live);
  for (const DmaBufRef& b : core_.buffers().Snapshot()) records.push_back(RecordOf(*b));
  if (Result<BufferLog> fresh = BufferLog::Create(log_.path(), records, core_.buffers().next_id());
      fresh.ok())
    log_ = std::move(fresh).value();
}

void Server::RecordFd(int fd) {
  Result<struct stat> st = sys::Fstat(fd);
  if (!st.ok()) return;
  if (DmaBufRef buf = core_.buffers().Lookup(st->st_dev, st->st_ino)) RecordBuffer(*buf);
}

Owner Server::OwnerOf(Client& client, const Request& request) {
  const pid_t pid = request.cred.pid;
  if (client.cgroup_pid != pid) {  // one read per process, also when it names no cgroup
    client.cgroup_pid = pid;
    client.cgroup = sys::CgroupOf(pid);
  }
  return Owner{pid, request.cred.uid, request.cred.gid, client.cgroup};
}

void Server::Drop(int fd) {
  ::epoll_ctl(epoll_fd_.get(), EPOLL_CTL_DEL, fd, nullptr);
  if (auto it = clients_.find(fd); it != clients_.end()) limits_->Disconnected(it->second->uid);
  clients_.erase(fd);
}

void Server::Serve(Client& client) {
  const int fd = client.fd.get();
  alignas(RequestHeader) uint8_t buf[kRecvBufSize];
  iovec iov{buf, sizeof(buf)};
  Result<sys::ReceivedMessage> msg = sys::RecvWithFds(fd, {&iov, 1});
  if (!msg.ok() && (msg.error() == EAGAIN || msg.error() == EINTR)) return;
  if (!msg.ok()) return Drop(fd);
  // recvmsg gives 0 both for a closed peer and for an empty message: only the first hangs up.
  // An empty message is a short one, answered EBADMSG like any other.
  if (msg->len == 0) {
    pollfd peer{fd, POLLRDHUP, 0};
    if (::poll(&peer, 1, 0) != 0 && (peer.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0)
      return Drop(fd);
  }
  RawRequest raw{
      {buf, std::min(msg->len, sizeof(buf))}, msg->msg_flags, msg->cred, std::move(msg->fds)};
  if (!msg->has_cred) {
    socklen_t len = sizeof(raw.cred);
    ::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &raw.cred, &len);
  }
  // Every fd that arrived is owned by the request and closed before its reply goes out: once a
  // client has its answer, the daemon holds nothing of what it sent.
  Result<Request> request = DecodeRequest(std::move(raw));
  bool keep = request.ok();
  if (!request.ok()) {
    keep = SendReply(fd, request.error(), nullptr, 0);
  } else if (client.heap != nullptr) {
    keep = ServeHeap(client, *request);
  } else if (client.device) {
    keep = ServeDevice(client, *request);
  } else {
    keep = ServeControl(client, *request);
  }
  if (!keep) Drop(fd);
}

bool Server::ServeHeap(Client& client, Request& request) {
  const int fd = client.fd.get();
  Result<HeapRequest> decoded = DecodeHeapRequest(request);
  if (!decoded.ok()) {
    request.fds.clear();
    return SendReply(fd, decoded.error(), nullptr, 0);
  }
  if (decoded->kind == HeapRequest::Kind::kSync) {
    // A client's SYNC on a buffer a device has mapped: the exporter syncs its attachments.
    Result<struct stat> st = sys::Fstat(decoded->buffer_fd);
    DmaBufRef buf = st.ok() ? core_.buffers().Lookup(st->st_dev, st->st_ino) : nullptr;
    int status = ENOTTY;
    if (buf != nullptr) {
      Result<void> r = buf->CpuAccess(SyncDirection(decoded->sync_flags),
                                      (decoded->sync_flags & DMA_BUF_SYNC_END) != 0);
      status = r.ok() ? 0 : r.error();
    }
    request.fds.clear();
    return SendReply(fd, status, nullptr, 0);
  }
  if (decoded->kind == HeapRequest::Kind::kSetName) {
    Result<struct stat> st = sys::Fstat(decoded->buffer_fd);
    DmaBufRef buf = st.ok() ? core_.buffers().Lookup(st->st_dev, st->st_ino) : nullptr;
    if (buf != nullptr) {
      buf->set_name(decoded->name);
      (void)log_.AppendName(buf->id(), decoded->name);
    }
    request.fds.clear();
    return SendReply(fd, buf != nullptr ? 0 : ENOTTY, nullptr, 0);
  }
  if (decoded->kind == HeapRequest::Kind::kInfo) {
    const HeapInfo info = EncodeHeapInfo(client.heap->properties());
    return SendReply(fd, 0, &info, sizeof(info));
  }
  AllocRequest alloc;
  alloc.heap = client.heap;
  alloc.owner = OwnerOf(client, request);
  alloc.admission = limits_.get();
  alloc.name = decoded->name;
  PayloadArg arg(decoded->arg);
  SendFdInstaller installer;
  const int status =
      core_.CheckAlive().ok() ? DmaHeapIoctl(decoded->cmd, alloc, arg, installer) : ENODEV;
  // Recorded before its fd leaves: a crash from here on cannot lose the buffer.
  if (status == 0 && installer.fd_) RecordFd(installer.fd_.get());
  // The fd goes to the client and is closed here either way: the daemon keeps none.
  return SendReply(fd, status, arg.out.data(), arg.out.size(),
                   installer.fd_ ? installer.fd_.get() : -1);
}

bool Server::ServeControl(Client& client, Request& request) {
  const int fd = client.fd.get();
  if (Result<void> allowed = CheckControlRequest(request); !allowed.ok()) {
    request.fds.clear();
    return SendReply(fd, allowed.error(), nullptr, 0);
  }
  const std::string_view arg(reinterpret_cast<const char*>(request.payload.data()),
                             request.payload.size());
  ControlAnswer answer = HandleControl(core_, request.op, arg);
  if (request.op == Op::kStats && answer.status == 0) answer.text += limits_->StatsText();
  if (answer.heaps_changed) FollowHeaps();
  return SendReply(fd, answer.status, answer.text.data(), answer.text.size());
}

void Server::FollowHeaps() {
  HeapDirectory::Change change = dir_->Sync(core_.heaps().List());
  for (const HeapDirectory::Listener& gone : change.removed) {
    std::vector<int> drop;
    for (const auto& [cfd, client] : clients_) {
      if (client->heap == gone.heap) drop.push_back(cfd);
    }
    for (int cfd : drop) Drop(cfd);
  }
  for (const HeapDirectory::Listener& added : change.added) (void)Watch(added.fd, EPOLLIN);
}

bool Server::ServeDevice(Client& client, Request& request) {
  const int fd = client.fd.get();
  Result<DeviceRequest> decoded = DecodeDeviceRequest(request);
  if (!decoded.ok()) {
    request.fds.clear();
    return SendReply(fd, decoded.error(), nullptr, 0);
  }
  switch (decoded->kind) {
    case DeviceRequest::Kind::kDevices: {
      std::vector<DmaDeviceInfo> devices;
      for (const auto& dev : core_.devices()) devices.push_back(DeviceInfoOf(*dev));
      const std::string text = EncodeDevices(devices);
      return SendReply(fd, 0, text.data(), text.size());
    }
    case DeviceRequest::Kind::kAttach: {
      Result<Imported> imported =
          decoded->once
              ? client.imports->ImportOnce(decoded->buffer_fd, decoded->device, decoded->dir)
              : client.imports->Import(decoded->buffer_fd, decoded->device, decoded->dir);
      request.fds.clear();
      if (!imported.ok()) return SendReply(fd, imported.error(), nullptr, 0);
      const std::vector<uint8_t> reply = EncodeAttachReply(imported->id, imported->segments);
      return SendReply(fd, 0, reply.data(), reply.size());
    }
    case DeviceRequest::Kind::kDetach: {
      Result<void> r = client.imports->Detach(decoded->id);
      return SendReply(fd, r.ok() ? 0 : r.error(), nullptr, 0);
    }
    case DeviceRequest::Kind::kAllocFor: {
      AllocForRequest alloc;
      alloc.devices = decoded->devices;
      alloc.len = decoded->len;
      alloc.cpu_access = decoded->cpu_access;
      alloc.fd_flags = decoded->fd_flags;
      alloc.owner = OwnerOf(client, request);
      alloc.admission = limits_.get();
      std::string refusal;
      Result<AllocForResult> r = AllocateFor(core_, alloc, &refusal);
      if (!r.ok()) return SendReply(fd, r.error(), refusal.data(), refusal.size());
      RecordBuffer(*r->allocation.buffer);
      const std::string text = r->heap + "\n" + r->why;
      // The fd goes to the client and is closed here: the daemon keeps none.
      return SendReply(fd, 0, text.data(), text.size(), r->allocation.fd.get());
    }
  }
  return SendReply(fd, EOPNOTSUPP, nullptr, 0);
}

}  // namespace dmaheap
