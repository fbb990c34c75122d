#include "supervisor.h"

#include <fcntl.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <seccomp.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <string_view>

#include "base/check.h"
#include "client/heap_call.h"
#include "dmabuf/dma_buf_rules.h"
#include "client/transport.h"
#include "dmaheap/uapi/linux/dma-buf.h"
#include "heap/heap_ioctl.h"
#include "platform/fd_info.h"
#include "platform/sys.h"
#include "service/paths.h"

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

class Server {
 public:
  Server(int notify_fd, std::string heap_dir)
      : notify_fd_(notify_fd), heap_dir_(std::move(heap_dir)), thp_(sys::ReadShmemThp()) {}

  void Handle(seccomp_notif& req, seccomp_notif_resp& resp) {
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

  void HandleOpen(seccomp_notif& req, seccomp_notif_resp& resp, const char* path_ptr, int flags) {
    Result<std::string> path = sys::CopyStringFromProcess(req.pid, path_ptr, 4096);
    if (!path.ok() || path->compare(0, sizeof(kDevDir) - 1, kDevDir) != 0) return;
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
    // ADDFD with SEND answers the openat with the new fd number.
    Result<int> added = AddFd(req.id, fd.get(), cloexec, /*send=*/true);
    if (!added.ok()) {
      if (added.error() == ENOENT) resp.id = 0;  // the target is gone; nothing to answer
      return Fail(resp, added.error());
    }
    resp.id = 0;  // already answered
  }

  enum class FdKind { kOther, kHeap, kBuffer };

  FdKind Classify(int fd, std::string* heap_name) {
    struct stat st {};
    if (::fstat(fd, &st) != 0) return FdKind::kOther;
    if (S_ISSOCK(st.st_mode)) {
      sockaddr_un peer{};
      socklen_t len = sizeof(peer);
      if (::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &len) != 0) return FdKind::kOther;
      return HeapOfPeerPath(heap_dir_, peer.sun_path).empty() ? FdKind::kOther : FdKind::kHeap;
    }
    if (!S_ISREG(st.st_mode) || !sys::BufferHeapOfFd(fd, heap_name)) return FdKind::kOther;
    return FdKind::kBuffer;
  }

  void HandleIoctl(seccomp_notif& req, seccomp_notif_resp& resp, int target_fd, unsigned int cmd,
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
        return BufferIoctl(req, resp, fd.get(), heap_name, cmd, arg);
    }
  }

  void HeapIoctl(seccomp_notif& req, seccomp_notif_resp& resp, int sock, unsigned int cmd,
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

  void BufferIoctl(seccomp_notif& req, seccomp_notif_resp& resp, int buf_fd,
                   const std::string& heap, unsigned int cmd, void* arg) {
    const pid_t pid = static_cast<pid_t>(req.pid);
    switch (cmd) {
      case DMA_BUF_IOCTL_SYNC: {
        dma_buf_sync sync;
        if (!sys::CopyFromProcess(pid, &sync, arg, sizeof(sync)).ok()) return Fail(resp, EFAULT);
        if (!ValidSyncFlags(sync.flags)) return Fail(resp, EINVAL);
        return Succeed(resp, 0);
      }
      case DMA_BUF_SET_NAME_A:
      case DMA_BUF_SET_NAME_B: {
        Result<std::string> name = sys::CopyStringFromProcess(
            pid, static_cast<const char*>(arg), DMA_BUF_NAME_LEN);
        if (!name.ok()) return Fail(resp, name.error());
        Result<std::string> path = HeapSocketPath(heap_dir_, heap);
        Result<UniqueFd> sock = path.ok() ? ConnectSocket(*path) : Result<UniqueFd>(Errno(ENODEV));
        if (!sock.ok()) return Fail(resp, ENODEV);
        Result<Reply> reply = Call(sock->get(), Op::kSetName, 0, name->data(), name->size(), buf_fd);
        if (!reply.ok()) return Fail(resp, ENODEV);
        if (reply->status != 0) return Fail(resp, reply->status);
        return Succeed(resp, 0);
      }
      case DMA_BUF_IOCTL_EXPORT_SYNC_FILE: {
        dma_buf_export_sync_file exp;
        if (!sys::CopyFromProcess(pid, &exp, arg, sizeof(exp)).ok()) return Fail(resp, EFAULT);
        if (!ValidSyncFileFlags(exp.flags)) return Fail(resp, EINVAL);
        UniqueFd stand_in(::eventfd(1, EFD_CLOEXEC));  // always signalled
        if (!stand_in) return Fail(resp, errno);
        Result<int> added = AddFd(req.id, stand_in.get(), /*cloexec=*/true, /*send=*/false);
        if (!added.ok()) return Fail(resp, added.error());
        exp.fd = *added;
        if (!sys::CopyToProcess(pid, arg, &exp, sizeof(exp)).ok()) return Fail(resp, EFAULT);
        return Succeed(resp, 0);
      }
      case DMA_BUF_IOCTL_IMPORT_SYNC_FILE: {
        dma_buf_import_sync_file imp;
        if (!sys::CopyFromProcess(pid, &imp, arg, sizeof(imp)).ok()) return Fail(resp, EFAULT);
        if (!ValidSyncFileFlags(imp.flags)) return Fail(resp, EINVAL);
        UniqueFd pidfd(PidfdOpen(pid));
        UniqueFd sync_fd = pidfd ? PidfdGetfd(pidfd.get(), imp.fd) : UniqueFd();
        if (!sync_fd || !sys::IsEventFd(sync_fd.get())) return Fail(resp, EINVAL);
        return Succeed(resp, 0);
      }
      default:
        return Fail(resp, ENOTTY);  // a memfd says ENOTTY too, but for every dma-buf ioctl
    }
  }

  const int notify_fd_;
  const std::string heap_dir_;
  const sys::ShmemThp thp_;
};

}  // namespace

Result<int> InstallSupervisedFilter() {
  scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);
  if (ctx == nullptr) return Errno(ENOMEM);
  int rc = seccomp_rule_add(ctx, SCMP_ACT_NOTIFY, SCMP_SYS(openat), 0);
  if (rc == 0) rc = seccomp_rule_add(ctx, SCMP_ACT_NOTIFY, SCMP_SYS(open), 0);
  if (rc == 0) rc = seccomp_rule_add(ctx, SCMP_ACT_NOTIFY, SCMP_SYS(ioctl), 0);
  // Without CAP_SYS_ADMIN the kernel requires no_new_privs for a filter.
  if (rc == 0 && ::geteuid() != 0) rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 1);
  if (rc == 0 && ::geteuid() == 0) rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_NNP, 0);
  if (rc == 0) rc = seccomp_load(ctx);
  int fd = rc == 0 ? seccomp_notify_fd(ctx) : rc;
  seccomp_release(ctx);
  if (fd < 0) return Errno(-fd);
  return fd;
}

Result<void> Supervise(int notify_fd, int stop_fd, const std::string& heap_dir) {
  Server server(notify_fd, heap_dir);
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
