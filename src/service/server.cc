#include "service/server.h"

#include <fcntl.h>
#include <dirent.h>
#include <grp.h>
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <algorithm>
#include <cinttypes>
#include <cstdarg>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "base/check.h"
#include "dmabuf/bufinfo.h"
#include "dmaheap/uapi/linux/dma-buf.h"
#include "dmaheap/uapi/linux/dma-heap.h"
#include "heap/heap_ioctl.h"
#include "mm/reserved_mem.h"
#include "platform/scm.h"
#include "platform/sys.h"
#include "ipc/paths.h"
#include "ipc/protocol.h"

namespace dmaheap {
namespace {

constexpr size_t kRecvBufSize = sizeof(RequestHeader) + kMaxPayload + 1;
constexpr size_t kTextChunk = kMaxPayload;  // fits the client's first receive buffer

void Log(const char* fmt, ...) __attribute__((format(printf, 1, 2)));
void Log(const char* fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  std::fputs("dmaheapd: ", stderr);
  std::vfprintf(stderr, fmt, ap);
  std::fputc('\n', stderr);
  va_end(ap);
}

Result<UniqueFd> ListenAt(const std::string& path, mode_t mode) {
  UniqueFd fd(::socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd) return Errno(errno);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() > kMaxSocketPath) return Errno(ENAMETOOLONG);
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  ::unlink(path.c_str());
  if (::bind(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    int err = errno;
    Log("cannot bind %s: %s", path.c_str(), std::strerror(err));
    return Errno(err);
  }
  if (::chmod(path.c_str(), mode) != 0) return Errno(errno);
  if (::listen(fd.get(), 128) != 0) return Errno(errno);
  return fd;
}

// The caller's argument bytes, as the client copied them in.
class PayloadMemory final : public IoctlArg {
 public:
  PayloadMemory(const uint8_t* data, size_t len) : data_(data), len_(len) {}
  Result<void> CopyIn(void* dst, size_t len) override {
    if (len > len_) return Errno(EFAULT);  // the client sent fewer bytes than the number says
    std::memcpy(dst, data_, len);
    return {};
  }
  Result<void> CopyOut(const void* src, size_t len) override {
    out.assign(static_cast<const uint8_t*>(src), static_cast<const uint8_t*>(src) + len);
    return {};
  }
  std::vector<uint8_t> out;

 private:
  const uint8_t* data_;
  size_t len_;
};

// Holds the new buffer fd until it is sent; the client patches its own fd number in.
class SendFdInstaller final : public FdInstaller {
 public:
  Result<int> Install(UniqueFd fd, bool /*cloexec*/) override {
    fd_ = std::move(fd);
    return 0;
  }
  UniqueFd fd_;
};

}  // namespace

struct Server::Client {
  UniqueFd fd;
  DmaHeap* heap;  // null for a control connection
};

Result<std::pair<std::string, HeapSocketMode>> ParseHeapMode(const std::string& text) {
  const size_t eq = text.find('=');
  if (eq == std::string::npos || eq == 0 || eq + 1 == text.size()) {
    std::fprintf(stderr, "dmaheapd: --heap-mode %s: expected NAME=MODE[:GROUP]\n", text.c_str());
    return Errno(EINVAL);
  }
  std::string name = text.substr(0, eq);
  std::string rest = text.substr(eq + 1);
  std::string group_name;
  if (size_t colon = rest.find(':'); colon != std::string::npos) {
    group_name = rest.substr(colon + 1);
    rest = rest.substr(0, colon);
  }
  char* end = nullptr;
  unsigned long mode = std::strtoul(rest.c_str(), &end, 8);
  if (rest.empty() || *end != '\0' || mode > 0777) {
    std::fprintf(stderr, "dmaheapd: --heap-mode %s: MODE must be octal, at most 0777\n",
                 text.c_str());
    return Errno(EINVAL);
  }
  HeapSocketMode m;
  m.mode = static_cast<mode_t>(mode);
  if (!group_name.empty()) {
    char* gend = nullptr;
    unsigned long gid = std::strtoul(group_name.c_str(), &gend, 10);
    if (*gend == '\0') {
      m.gid = static_cast<gid_t>(gid);
    } else if (const struct group* g = ::getgrnam(group_name.c_str())) {
      m.gid = g->gr_gid;
    } else {
      std::fprintf(stderr, "dmaheapd: --heap-mode %s: unknown group %s\n", text.c_str(),
                   group_name.c_str());
      return Errno(EINVAL);
    }
    m.set_gid = true;
  }
  return std::make_pair(name, m);
}

Server::Server(SystemCore& kernel, ServerConfig config)
    : kernel_(kernel), config_(std::move(config)) {}

Result<std::unique_ptr<Server>> Server::Create(SystemCore& kernel, ServerConfig config) {
  std::unique_ptr<Server> server(new Server(kernel, std::move(config)));
  TRY(server->BindAll());
  return server;
}

Result<void> Server::BindAll() {
  epoll_fd_.reset(::epoll_create1(EPOLL_CLOEXEC));
  if (!epoll_fd_) return Errno(errno);
  reserve_fd_.reset(::open("/dev/null", O_RDONLY | O_CLOEXEC));
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  signal_fd_.reset(::signalfd(-1, &mask, SFD_CLOEXEC | SFD_NONBLOCK));
  if (!signal_fd_) return Errno(errno);

  const std::string& dir = config_.heap_dir;
  // Validate every path before creating anything.
  std::vector<DmaHeap*> heaps = kernel_.heaps().List();
  for (DmaHeap* heap : heaps) TRY(HeapSocketPath(dir + ".tmp.XXXXXX", heap->name()));
  struct stat st {};
  if (::stat(dir.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode) || ::rmdir(dir.c_str()) != 0) {
      Log("heap directory %s exists and is not an empty directory (another dmaheapd?)",
          dir.c_str());
      return Errno(EEXIST);
    }
  }

  control_fd_ = TRY(ListenAt(config_.control_path, 0600));

  std::string tmp = dir + ".tmp.XXXXXX";
  if (::mkdtemp(tmp.data()) == nullptr) {
    int err = errno;
    Log("cannot create %s: %s", tmp.c_str(), std::strerror(err));
    ::unlink(config_.control_path.c_str());
    return Errno(err);
  }
  ::chmod(tmp.c_str(), 0755);
  auto cleanup_tmp = [&] {
    for (DmaHeap* heap : heaps) ::unlink((tmp + "/" + heap->name()).c_str());
    ::rmdir(tmp.c_str());
    ::unlink(config_.control_path.c_str());
  };
  for (DmaHeap* heap : heaps) {
    Result<UniqueFd> fd = BindHeap(tmp, heap);
    if (!fd.ok()) {
      cleanup_tmp();
      return Errno(fd.error());
    }
    listeners_[fd->get()] = heap;
    heap_listener_[heap] = fd->get();
    listen_fds_.push_back(std::move(fd).value());
  }
  // All heaps at once: the directory appears with every socket already listening.
  if (::rename(tmp.c_str(), dir.c_str()) != 0) {
    int err = errno;
    Log("cannot rename %s to %s: %s", tmp.c_str(), dir.c_str(), std::strerror(err));
    cleanup_tmp();
    return Errno(err);
  }
  dir_created_ = true;

  auto watch = [&](int fd) -> Result<void> {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = fd;
    if (::epoll_ctl(epoll_fd_.get(), EPOLL_CTL_ADD, fd, &ev) != 0) return Errno(errno);
    return {};
  };
  TRY(watch(signal_fd_.get()));
  TRY(watch(control_fd_.get()));
  TRY(watch(kernel_.buffers().release_fd()));
  for (const UniqueFd& fd : listen_fds_) TRY(watch(fd.get()));
  return {};
}

Result<UniqueFd> Server::BindHeap(const std::string& dir, DmaHeap* heap) {
  HeapSocketMode mode = config_.default_mode;
  if (heap->name() == "system") mode.mode = 0666;
  if (auto it = config_.heap_modes.find(heap->name()); it != config_.heap_modes.end())
    mode = it->second;
  const std::string path = TRY(HeapSocketPath(dir, heap->name()));
  UniqueFd fd = TRY(ListenAt(path, mode.mode));
  if (mode.set_gid && ::chown(path.c_str(), static_cast<uid_t>(-1), mode.gid) != 0) {
    const int err = errno;
    Log("cannot set group %u on %s: %s", mode.gid, path.c_str(), std::strerror(err));
    ::unlink(path.c_str());
    return Errno(err);
  }
  return fd;
}

void Server::SyncHeapSockets() {
  std::vector<DmaHeap*> now = kernel_.heaps().List();
  // Gone: close the listener, remove the socket, drop the heap's clients.
  for (auto it = heap_listener_.begin(); it != heap_listener_.end();) {
    if (std::find(now.begin(), now.end(), it->first) != now.end()) {
      ++it;
      continue;
    }
    const int lfd = it->second;
    std::vector<int> drop;
    for (const auto& [cfd, client] : clients_) {
      if (client->heap == it->first) drop.push_back(cfd);
    }
    for (int cfd : drop) Drop(cfd);
    ::epoll_ctl(epoll_fd_.get(), EPOLL_CTL_DEL, lfd, nullptr);
    listeners_.erase(lfd);
    std::erase_if(listen_fds_, [&](const UniqueFd& fd) { return fd.get() == lfd; });
    it = heap_listener_.erase(it);
  }
  // Unlink sockets whose heap is gone (names are unique among live heaps).
  DIR* d = ::opendir(config_.heap_dir.c_str());
  if (d != nullptr) {
    while (dirent* e = ::readdir(d)) {
      std::string name = e->d_name;
      if (name == "." || name == "..") continue;
      bool live = std::any_of(now.begin(), now.end(), [&](DmaHeap* h) { return h->name() == name; });
      if (!live) ::unlink((config_.heap_dir + "/" + name).c_str());
    }
    ::closedir(d);
  }
  // New: bind in place.
  for (DmaHeap* heap : now) {
    if (heap_listener_.count(heap) != 0) continue;
    Result<UniqueFd> fd = BindHeap(config_.heap_dir, heap);
    if (!fd.ok()) continue;  // logged; the heap is served only embedded
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.fd = fd->get();
    ::epoll_ctl(epoll_fd_.get(), EPOLL_CTL_ADD, fd->get(), &ev);
    listeners_[fd->get()] = heap;
    heap_listener_[heap] = fd->get();
    listen_fds_.push_back(std::move(fd).value());
  }
}

std::string Server::HandleModuleOp(Op op, const std::string& arg, int* status) {
  ModuleRegistry& modules = kernel_.modules();
  kernel_.Drain();  // refcounts are live buffers: a close that has returned counts first
  Result<void> done;
  switch (op) {
    case Op::kInsmod:
      done = modules.Insmod(arg);
      break;
    case Op::kModprobe:
      done = modules.Modprobe(arg);
      break;
    case Op::kRmmod:
      done = modules.Rmmod(arg);
      break;
    case Op::kLsmod:
      *status = 0;
      return modules.ProcModules();
    case Op::kModinfo: {
      Result<std::string> text = modules.Modinfo(arg);
      *status = text.ok() ? 0 : text.error();
      return text.ok() ? *text : std::string();
    }
    default:
      *status = EOPNOTSUPP;
      return {};
  }
  *status = done.ok() ? 0 : done.error();
  if (done.ok()) {
    Log("%s %s", op == Op::kRmmod ? "removed" : "loaded", arg.c_str());
    SyncHeapSockets();
  }
  return {};
}

Server::~Server() {
  clients_.clear();
  listen_fds_.clear();
  if (dir_created_) {
    for (const auto& [heap, fd] : heap_listener_)
      ::unlink((config_.heap_dir + "/" + heap->name()).c_str());
    ::rmdir(config_.heap_dir.c_str());
  }
  if (control_fd_) ::unlink(config_.control_path.c_str());
}

Result<void> Server::Run() {
  epoll_event events[64];
  for (;;) {
    int n = ::epoll_wait(epoll_fd_.get(), events, 64, -1);
    if (n < 0) {
      if (errno == EINTR) continue;
      return Errno(errno);
    }
    for (int i = 0; i < n; ++i) {
      const int fd = events[i].data.fd;
      if (fd == signal_fd_.get()) {
        signalfd_siginfo si{};
        (void)!::read(fd, &si, sizeof(si));
        Log("signal %u: shutting down", si.ssi_signo);
        return {};
      }
      if (fd == kernel_.buffers().release_fd()) {
        kernel_.Drain();
      } else if (fd == control_fd_.get() || listeners_.count(fd) != 0) {
        Accept(fd);
      } else if (auto it = clients_.find(fd); it != clients_.end()) {
        if ((events[i].events & (EPOLLIN)) != 0) {
          Serve(*it->second);
        } else {
          Drop(fd);
        }
      }
    }
  }
}

void Server::Accept(int listen_fd) {
  for (;;) {
    int fd = ::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0 && (errno == EMFILE || errno == ENFILE)) {
      // Out of fds: a pending connection would keep the (level-triggered) listener readable
      // and spin the loop. Free the reserve fd, accept one connection and close it at once,
      // then go back to the loop so hang-ups of other clients are seen.
      if (!out_of_fds_) Log("out of file descriptors: refusing connections");
      out_of_fds_ = true;
      reserve_fd_.reset();
      UniqueFd refused(::accept4(listen_fd, nullptr, nullptr, SOCK_CLOEXEC));
      refused.reset();
      reserve_fd_.reset(::open("/dev/null", O_RDONLY | O_CLOEXEC));
      return;
    }
    if (fd < 0) return;  // EAGAIN, or the client went away already
    out_of_fds_ = false;
    int one = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one));
    auto client = std::make_unique<Client>();
    client->fd.reset(fd);
    auto it = listeners_.find(listen_fd);
    client->heap = it == listeners_.end() ? nullptr : it->second;
    epoll_event ev{};
    ev.events = EPOLLIN | EPOLLRDHUP;
    ev.data.fd = fd;
    if (::epoll_ctl(epoll_fd_.get(), EPOLL_CTL_ADD, fd, &ev) != 0) continue;
    clients_[fd] = std::move(client);
  }
}

void Server::Drop(int fd) {
  ::epoll_ctl(epoll_fd_.get(), EPOLL_CTL_DEL, fd, nullptr);
  clients_.erase(fd);
}

namespace {

// Sends one reply; a text payload larger than one message follows in chunks.
bool SendReply(int fd, int status, const void* data, size_t len, int pass_fd) {
  ReplyHeader h{kProtocolMagic, status, static_cast<uint32_t>(len), pass_fd >= 0 ? 1u : 0u};
  const size_t first = std::min(len, kTextChunk);
  const iovec iov[2] = {{&h, sizeof(h)}, {const_cast<void*>(data), first}};
  const int fds[1] = {pass_fd};
  if (!sys::SendWithFds(fd, std::span<const iovec>(iov, first > 0 ? 2 : 1),
                        std::span<const int>(fds, pass_fd >= 0 ? 1 : 0))
           .ok()) {
    return false;
  }
  for (size_t off = first; off < len; off += kTextChunk) {
    const size_t n = std::min(kTextChunk, len - off);
    // A client that reads text slowly may fill the socket; wait for it.
    for (;;) {
      ssize_t rc = ::send(fd, static_cast<const char*>(data) + off, n, MSG_NOSIGNAL);
      if (rc >= 0) break;
      if (errno != EAGAIN) return false;
      pollfd p{fd, POLLOUT, 0};
      if (::poll(&p, 1, 1000) <= 0) return false;
    }
  }
  return true;
}

std::string StatsText(SystemCore& kernel) {
  kernel.Drain();
  std::string out;
  char line[256];
  PageAllocator& pages = kernel.pages();
  std::snprintf(line, sizeof(line), "memory total_pages %" PRIu64 " free_pages %" PRIu64 "\n",
                pages.total_pages(), pages.free_pages());
  out += line;
  out += "buddy";
  for (uint64_t n : pages.FreeBlocks()) out += " " + std::to_string(n);
  out += "\n";
  for (DmaHeap* heap : kernel.heaps().List()) {
    const HeapCounters& c = heap->counters();
    std::snprintf(line, sizeof(line),
                  "heap %s buffers %" PRIu64 " bytes %" PRIu64 " peak %" PRIu64
                  " allocations %" PRIu64 " failures %" PRIu64 " contiguous %d cached %d"
                  " max_size %" PRIu64 "\n",
                  heap->name().c_str(), c.live_buffers.load(), c.live_bytes.load(),
                  c.peak_bytes.load(), c.allocations.load(), c.failures.load(),
                  heap->properties().contiguous ? 1 : 0, heap->properties().cached ? 1 : 0,
                  heap->properties().max_size);
    out += line;
  }
  return out;
}

}  // namespace

void Server::Serve(Client& client) {
  const int fd = client.fd.get();
  alignas(RequestHeader) uint8_t buf[kRecvBufSize];
  iovec iov{buf, sizeof(buf)};
  Result<sys::ReceivedMessage> msg = sys::RecvWithFds(fd, {&iov, 1});
  if (!msg.ok() && (msg.error() == EAGAIN || msg.error() == EINTR)) return;
  if (!msg.ok() || msg->len == 0) {
    Drop(fd);
    return;
  }
  // Every fd that arrived is owned by msg->fds and closed on return unless used.
  std::vector<UniqueFd>& fds = msg->fds;
  ucred cred = msg->cred;
  if (!msg->has_cred) {
    socklen_t len = sizeof(cred);
    ::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len);
  }
  const size_t n = msg->len;
  // The fds that came with a request are closed before its reply goes out: once a client has
  // its answer, the daemon holds nothing of what it sent.
  auto reply = [&](int status, const void* data = nullptr, size_t len = 0, int pass = -1) {
    fds.clear();
    if (!SendReply(fd, status, data, len, pass)) Drop(fd);
  };
  if ((msg->msg_flags & MSG_TRUNC) != 0 || n > sizeof(RequestHeader) + kMaxPayload)
    return reply(EMSGSIZE);
  if ((msg->msg_flags & MSG_CTRUNC) != 0) return reply(EINVAL);
  if (n < sizeof(RequestHeader)) return reply(EBADMSG);
  RequestHeader h;
  std::memcpy(&h, buf, sizeof(h));
  if (h.magic != kProtocolMagic || h.reserved != 0 ||
      h.len != n - sizeof(RequestHeader)) {
    return reply(EBADMSG);
  }
  const uint8_t* payload = buf + sizeof(RequestHeader);
  const auto op = static_cast<Op>(h.op);

  if (client.heap == nullptr) {  // control socket
    if (cred.uid != 0) return reply(EPERM);
    if (!fds.empty()) return reply(EINVAL);
    switch (op) {
      case Op::kBarrier:
        kernel_.Drain();
        return reply(0);
      case Op::kStats: {
        std::string text = StatsText(kernel_);
        return reply(0, text.data(), text.size());
      }
      case Op::kBufInfo: {
        std::string text = kernel_.BufInfo();
        return reply(0, text.data(), text.size());
      }
      case Op::kCma: {
        kernel_.Drain();
        const bool bitmap =
            std::string_view(reinterpret_cast<const char*>(payload), h.len) == "bitmap";
        std::string text = CmaDebugfsText(kernel_.reserved(), bitmap);
        return reply(0, text.data(), text.size());
      }
      case Op::kInsmod:
      case Op::kRmmod:
      case Op::kModprobe:
      case Op::kLsmod:
      case Op::kModinfo: {
        int status = 0;
        std::string text =
            HandleModuleOp(op, std::string(reinterpret_cast<const char*>(payload), h.len), &status);
        return reply(status, text.data(), text.size());
      }
      default:
        return reply(EOPNOTSUPP);
    }
  }

  switch (op) {
    case Op::kHeapIoctl:
    case Op::kAllocNamed: {
      if (!fds.empty()) return reply(EINVAL);  // stray fds: closed, request refused
      unsigned int cmd = static_cast<unsigned int>(h.cmd);
      size_t arg_len = h.len;
      std::string name;
      if (op == Op::kAllocNamed) {
        cmd = DMA_HEAP_IOCTL_ALLOC;
        arg_len = sizeof(dma_heap_allocation_data);
        if (h.len < arg_len || h.len - arg_len >= DMA_BUF_NAME_LEN) return reply(EINVAL);
        name.assign(reinterpret_cast<const char*>(payload) + arg_len, h.len - arg_len);
        if (name.find('\0') != std::string::npos) return reply(EINVAL);
      }
      AllocRequest request;
      request.heap = client.heap;
      request.owner = Owner{cred.pid, cred.uid, cred.gid};
      request.name = name;
      PayloadMemory memory(payload, arg_len);
      SendFdInstaller installer;
      int status = kernel_.CheckAlive().ok() ? DmaHeapIoctl(cmd, request, memory, installer)
                                             : ENODEV;
      // The fd goes to the client and is closed here either way: the daemon keeps none.
      return reply(status, memory.out.data(), memory.out.size(),
                   installer.fd_ ? installer.fd_.get() : -1);
    }
    case Op::kSetName: {
      if (fds.size() != 1) return reply(EBADF);
      if (h.len >= 32) return reply(EINVAL);
      Result<struct stat> st = sys::Fstat(fds[0].get());
      DmaBufRef buf = st.ok() ? kernel_.buffers().Lookup(st->st_dev, st->st_ino) : nullptr;
      if (buf == nullptr) return reply(ENOTTY);
      std::string name(reinterpret_cast<const char*>(payload), h.len);
      if (name.find('\0') != std::string::npos) return reply(EINVAL);
      buf->set_name(std::move(name));
      return reply(0);
    }
    default:
      return reply(EOPNOTSUPP);
  }
}

}  // namespace dmaheap
