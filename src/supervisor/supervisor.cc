#include "supervisor/supervisor.h"

#include <fcntl.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <seccomp.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <memory>
#include <string_view>

#include "base/check.h"
#include "dmabuf/dma_buf_ioctl.h"
#include "drm/drm_ioctl.h"
#include "drm/vgem_card.h"
#include "heap/heap_ioctl.h"
#include "ipc/heap_call.h"
#include "ipc/paths.h"
#include "ipc/transport.h"
#include "platform/fd_info.h"
#include "platform/ioctl_arg.h"
#include "platform/sys.h"

namespace dmaheap {
namespace {

constexpr char kDevDir[] = "/dev/dma_heap";

struct Notification {
  seccomp_notif* req = nullptr;
  seccomp_notif_resp* resp = nullptr;
  Notification() { seccomp_notify_alloc(&req, &resp); }
  ~Notification() { seccomp_notify_free(req, resp); }
};

int PidfdOpen(pid_t pid) { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)); }

UniqueFd PidfdGetfd(int pidfd, int target_fd) {
  return UniqueFd(static_cast<int>(::syscall(SYS_pidfd_getfd, pidfd, target_fd, 0)));
}

}  // namespace

class NotificationHandler::Handler {
 public:
  Handler(int notify_fd, std::string heap_dir)
      : notify_fd_(notify_fd),
        heap_dir_(std::move(heap_dir)),
        device_path_(heap_dir_ + ".dev"),
        thp_(sys::ReadShmemThp()) {}

  void Handle(const seccomp_notif& req, seccomp_notif_resp& resp) {
    resp.id = req.id;
    resp.val = 0;
    resp.error = 0;
    resp.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
    const int nr = req.data.nr;
    if (nr == SCMP_SYS(openat) || nr == SCMP_SYS(open)) {
      const bool at = nr == SCMP_SYS(openat);
      const auto path_ptr = reinterpret_cast<const char*>(req.data.args[at ? 1 : 0]);
      const auto flags = static_cast<int>(req.data.args[at ? 2 : 1]);
      HandleOpen(req, resp, path_ptr, flags);
    } else if (nr == SCMP_SYS(ioctl)) {
      HandleIoctl(req, resp, static_cast<int>(req.data.args[0]),
                  static_cast<unsigned int>(req.data.args[1]),
                  reinterpret_cast<void*>(req.data.args[2]));
    }
  }

 private:
  void Fail(seccomp_notif_resp& resp, int err) {
    resp.flags = 0;
    resp.error = -err;
    resp.val = 0;
  }
  void Succeed(seccomp_notif_resp& resp, int64_t val) {
    resp.flags = 0;
    resp.error = 0;
    resp.val = val;
  }

  // Adds `fd` to the target; with `send`, the addition is also the syscall's answer.
  Result<int> AddFd(uint64_t id, int fd, bool cloexec, bool send) {
    seccomp_notif_addfd addfd{};
    addfd.id = id;
    addfd.srcfd = static_cast<uint32_t>(fd);
    addfd.newfd_flags = cloexec ? O_CLOEXEC : 0;
    addfd.flags = send ? SECCOMP_ADDFD_FLAG_SEND : 0;
    int rc = ::ioctl(notify_fd_, SECCOMP_IOCTL_NOTIF_ADDFD, &addfd);
    if (rc < 0) return Errno(errno);
    return rc;
  }

  // Answers the open with `fd`, added to the target; a target gone meanwhile gets no answer.
  void AnswerWithFd(const seccomp_notif& req, seccomp_notif_resp& resp, int fd, bool cloexec) {
    // ADDFD with SEND answers the openat with the new fd number.
    Result<int> added = AddFd(req.id, fd, cloexec, /*send=*/true);
    if (!added.ok()) {
      if (added.error() == ENOENT) resp.id = 0;  // the target is gone; nothing to answer
      return Fail(resp, added.error());
    }
    resp.id = 0;  // already answered
  }

  void HandleOpen(const seccomp_notif& req, seccomp_notif_resp& resp, const char* path_ptr, int flags) {
    Result<std::string> path = sys::CopyStringFromProcess(req.pid, path_ptr, 4096);
    if (!path.ok()) return;
    if (CardNumber(*path) >= 0) return HandleCardOpen(req, resp, *path, flags);
    if (path->compare(0, sizeof(kDevDir) - 1, kDevDir) != 0) return;
    std::string_view rest(*path);
    rest.remove_prefix(sizeof(kDevDir) - 1);
    if (!rest.empty() && rest[0] != '/') return;  // e.g. /dev/dma_heapX
    while (!rest.empty() && rest[0] == '/') rest.remove_prefix(1);
    const bool cloexec = (flags & O_CLOEXEC) != 0;
    UniqueFd fd;
    if (rest.empty()) {
      fd.reset(::open(heap_dir_.c_str(), (flags & ~O_CLOEXEC) | O_CLOEXEC));
      if (!fd) return Fail(resp, errno);
    } else {
      if (rest.find('/') != std::string_view::npos) return Fail(resp, ENOENT);
      if ((flags & O_DIRECTORY) != 0) return Fail(resp, ENOTDIR);
      Result<std::string> sock_path = HeapSocketPath(heap_dir_, rest);
      if (!sock_path.ok()) return Fail(resp, ENOENT);
      Result<UniqueFd> sock = ConnectSocket(*sock_path);
      if (!sock.ok()) return Fail(resp, sock.error() == ECONNREFUSED ? ENODEV : sock.error());
      fd = std::move(sock).value();
    }
    AnswerWithFd(req, resp, fd.get(), cloexec);
  }

  // /dev/dri/cardN: the vgem card when it is the card's path and the daemon's board has vgem
  // (drm/vgem_card.h), a connection to the device socket added to the target; else the kernel
  // answers.
  void HandleCardOpen(const seccomp_notif& req, seccomp_notif_resp& resp, const std::string& path,
                      int flags) {
    if (!IsVgemCardPath(path)) return;
    Result<VgemCard> card = OpenVgemCard(device_path_, /*cloexec=*/true);
    if (!card.ok()) {
      // ENODEV: no daemon or no vgem, so no card; the kernel answers (ENOENT).
      if (card.error() != ENODEV) Fail(resp, card.error());
      return;
    }
    if (const int err = CardOpenError(flags); err != 0) return Fail(resp, err);
    vgem_device_ = card->device;
    AnswerWithFd(req, resp, card->sock.get(), (flags & O_CLOEXEC) != 0);
  }

  enum class FdKind { kOther, kHeap, kBuffer, kCard };

  FdKind Classify(int fd, std::string* heap_name) {
    struct stat st {};
    if (::fstat(fd, &st) != 0) return FdKind::kOther;
    if (S_ISSOCK(st.st_mode)) {
      sockaddr_un peer{};
      socklen_t len = sizeof(peer);
      if (::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &len) != 0) return FdKind::kOther;
      if (peer.sun_path == device_path_) return FdKind::kCard;
      return HeapOfPeerPath(heap_dir_, peer.sun_path).empty() ? FdKind::kOther : FdKind::kHeap;
    }
    if (!S_ISREG(st.st_mode) || !sys::BufferHeapOfFd(fd, heap_name)) return FdKind::kOther;
    return FdKind::kBuffer;
  }

  void HandleIoctl(const seccomp_notif& req, seccomp_notif_resp& resp, int target_fd, unsigned int cmd,
                   void* arg) {
    UniqueFd pidfd(PidfdOpen(static_cast<pid_t>(req.pid)));
    if (!pidfd) return;
    UniqueFd fd = PidfdGetfd(pidfd.get(), target_fd);
    if (!fd) return;  // EBADF and friends: the kernel answers
    std::string heap_name;
    switch (Classify(fd.get(), &heap_name)) {
      case FdKind::kOther:
        return;
      case FdKind::kHeap:
        return HeapIoctl(req, resp, fd.get(), cmd, arg);
      case FdKind::kBuffer:
        return BufferIoctl(req, resp, fd.get(), cmd, arg);
      case FdKind::kCard:
        return CardIoctl(req, resp, pidfd.get(), fd.get(), cmd, arg);
    }
  }

  void HeapIoctl(const seccomp_notif& req, seccomp_notif_resp& resp, int sock, unsigned int cmd,
                 void* arg) {
    const pid_t pid = static_cast<pid_t>(req.pid);
    const HeapIoctlSizes sizes = DmaHeapIoctlSizes(cmd);
    if (!sizes.valid) return Fail(resp, EINVAL);
    uint8_t in[kMaxPayload];
    if (!sys::CopyFromProcess(pid, in, arg, sizes.in_size).ok()) return Fail(resp, EFAULT);
    Result<HeapCallResult> call = HeapIoctlCall(sock, cmd, in, sizes.in_size, thp_);
    if (!call.ok()) return Fail(resp, call.error());
    if (call->fd) {
      Result<int> added =
          AddFd(req.id, call->fd.get(), (call->fd_flags & O_CLOEXEC) != 0, /*send=*/false);
      if (!added.ok()) return Fail(resp, added.error() == EMFILE ? EMFILE : added.error());
      PatchAllocFd(call->out, *added);
    }
    if (!sys::CopyToProcess(pid, arg, call->out.data(), call->out.size()).ok())
      return Fail(resp, EFAULT);
    if (call->status != 0) return Fail(resp, call->status);
    Succeed(resp, 0);
  }

  void BufferIoctl(const seccomp_notif& req, seccomp_notif_resp& resp, int buf_fd, unsigned int cmd,
                   void* arg) {
    const auto pid = static_cast<pid_t>(req.pid);
    ProcessIoctlArg user(pid, arg);
    TargetBuffer buffer(heap_dir_, buf_fd, *this, req.id, pid);
    const int err = DmaBufIoctl(cmd, user, buffer);
    if (err != 0) return Fail(resp, err);
    Succeed(resp, 0);
  }

  // The DRM ioctls on a card of the target (a duplicate of its fd: the same connection, the same
  // handles), the argument in its memory.
  void CardIoctl(const seccomp_notif& req, seccomp_notif_resp& resp, int pidfd, int sock,
                 unsigned int cmd, void* arg) {
    const auto pid = static_cast<pid_t>(req.pid);
    ProcessIoctlArg user(pid, arg);
    TargetCard card(sock, vgem_device_, pid, pidfd);
    const int err = DrmIoctl(cmd, user, kVgemDriver, card);
    if (err != 0) return Fail(resp, err);
    Succeed(resp, 0);
  }

  // A card of the target: buffer fds and VERSION's strings are the target's.
  class TargetCard final : public VgemFile {
   public:
    TargetCard(int sock, std::string& device, pid_t pid, int pidfd)
        : VgemFile(sock, device), pid_(pid), pidfd_(pidfd) {}
    Result<void> CopyToUser(uint64_t addr, const void* src, size_t len) override {
      return sys::CopyToProcess(pid_, reinterpret_cast<void*>(addr), src, len);
    }

   protected:
    Result<int> CallerFd(int fd, UniqueFd& holder) override {
      if (fd < 0) return Errno(EBADF);
      UniqueFd local = PidfdGetfd(pidfd_, fd);  // EBADF when the target has no such fd
      if (!local) return Errno(errno);
      holder = std::move(local);
      return holder.get();
    }

   private:
    const pid_t pid_;
    const int pidfd_;
  };

  // A buffer fd of the target, served with the dma-buf core's rules: new fds are added to the
  // target, and the name goes to the daemon.
  class TargetBuffer final : public DaemonBuffer, public FdInstaller {
   public:
    TargetBuffer(const std::string& heap_dir, int buf_fd, Handler& server, uint64_t id, pid_t pid)
        : DaemonBuffer(heap_dir, buf_fd), server_(server), id_(id), pid_(pid) {}
    FdInstaller& installer() override { return *this; }
    Result<int> Install(UniqueFd fd, bool cloexec) override {
      return server_.AddFd(id_, fd.get(), cloexec, /*send=*/false);
    }
    bool IsSyncFile(int fd) override {
      UniqueFd pidfd(PidfdOpen(pid_));
      UniqueFd local = pidfd ? PidfdGetfd(pidfd.get(), fd) : UniqueFd();
      return local && IsSignalledSyncFile(local.get());
    }

   private:
    Handler& server_;
    const uint64_t id_;
    const pid_t pid_;
  };

  const int notify_fd_;
  const std::string heap_dir_;
  // The device socket of the daemon serving heap_dir_, where `dmaheap run` puts it.
  const std::string device_path_;
  // The vgem device's name, from the last card opened or the first import; empty: unknown.
  std::string vgem_device_;
  const sys::ShmemThp thp_;
};

namespace {

// The filter: every open, openat and ioctl goes to the supervisor; everything else runs.
// Without CAP_SYS_ADMIN the kernel requires no_new_privs for a filter.
Result<scmp_filter_ctx> BuildFilter() {
  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
  if (ctx == nullptr) return Errno(ENOMEM);
  int rc = seccomp_rule_add(ctx, SCMP_ACT_NOTIFY, SCMP_SYS(openat), 0);
  if (rc == 0) rc = seccomp_rule_add(ctx, SCMP_ACT_NOTIFY, SCMP_SYS(open), 0);
  if (rc == 0) rc = seccomp_rule_add(ctx, SCMP_ACT_NOTIFY, SCMP_SYS(ioctl), 0);
  if (rc == 0) rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, ::geteuid() != 0 ? 1 : 0);
  if (rc != 0) {
    seccomp_release(ctx);
    return Errno(-rc);
  }
  return ctx;
}

}  // namespace

Result<std::string> SupervisedFilterText() {
  scmp_filter_ctx ctx = TRY(BuildFilter());
  UniqueFd out(::memfd_create("dmaheap-filter", MFD_CLOEXEC));  // libseccomp writes to an fd
  const int rc = out ? seccomp_export_pfc(ctx, out.get()) : -errno;
  seccomp_release(ctx);
  if (rc != 0) return Errno(-rc);
  std::string text;
  char buf[4096];
  for (off_t at = 0;;) {
    const ssize_t n = ::pread(out.get(), buf, sizeof(buf), at);
    if (n < 0) return Errno(errno);
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
    at += n;
  }
  return text;
}

Result<int> InstallSupervisedFilter() {
  scmp_filter_ctx ctx = TRY(BuildFilter());
  int rc = seccomp_load(ctx);
  int fd = rc == 0 ? seccomp_notify_fd(ctx) : rc;
  seccomp_release(ctx);
  if (fd < 0) return Errno(-fd);
  return fd;
}

NotificationHandler::NotificationHandler(int notify_fd, std::string heap_dir)
    : impl_(std::make_unique<Handler>(notify_fd, std::move(heap_dir))) {}

NotificationHandler::~NotificationHandler() = default;

void NotificationHandler::Handle(const seccomp_notif& req, seccomp_notif_resp& resp) {
  impl_->Handle(req, resp);
}

Result<void> Supervise(int notify_fd, int stop_fd, const std::string& heap_dir) {
  NotificationHandler server(notify_fd, heap_dir);
  Notification n;
  for (;;) {
    pollfd fds[2] = {{notify_fd, POLLIN, 0}, {stop_fd, POLLIN, 0}};
    int rc = ::poll(fds, 2, -1);
    if (rc < 0) {
      if (errno == EINTR) continue;
      return Errno(errno);
    }
    if ((fds[0].revents & POLLIN) != 0) {
      std::memset(n.req, 0, sizeof(*n.req));
      if (seccomp_notify_receive(notify_fd, n.req) != 0) continue;  // the target went away
      std::memset(n.resp, 0, sizeof(*n.resp));
      server.Handle(*n.req, *n.resp);
      if (n.resp->id != 0) (void)seccomp_notify_respond(notify_fd, n.resp);
      continue;
    }
    if ((fds[0].revents & (POLLHUP | POLLERR)) != 0) return {};  // no task uses the filter
    if ((fds[1].revents & POLLIN) != 0) return {};
  }
}

}  // namespace dmaheap
