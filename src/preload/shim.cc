// The preload shim's machinery (shim.h).

#include "preload/shim.h"

#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <mutex>

#include "base/check.h"
#include "dmabuf/dma_buf_ioctl.h"
#include "drm/vgem_card.h"
#include "heap/heap_ioctl.h"
#include "ipc/heap_call.h"
#include "ipc/paths.h"
#include "ipc/transport.h"
#include "platform/fd_info.h"
#include "platform/ioctl_arg.h"
#include "preload/sanitizer.h"
#include "preload/sanitizer_rules.h"

namespace dmaheap::preload {

constinit FdTable g_table;
thread_local int t_inside = 0;

namespace {

State* g_state = nullptr;
std::once_flag g_init;

// Heap fds: their heap name and the fork generation they were connected in.
struct HeapFd {
  std::string name;
  unsigned generation = 0;
  bool stale = false;  // the daemon went away; reconnect before the next request
  bool cloexec = true;
};
std::mutex g_heap_mu;  // guards g_heaps; also serialises round trips on heap fds
HeapFd* g_heaps[kMaxTracked];
std::atomic<unsigned> g_generation{0};

void AtforkPrepare() {
  g_heap_mu.lock();
  LockCards();
}
void AtforkParent() {
  UnlockCards();
  g_heap_mu.unlock();
}
// A child must not share its parent's daemon connections: replies would cross. Each heap fd
// reconnects on its next use in the child. A card cannot: its connection holds the handles, as
// a DRM file shared across fork does (README: the card after fork).
void AtforkChild() {
  g_generation.fetch_add(1);
  UnlockCards();
  g_heap_mu.unlock();
}

// ---- heap fds -------------------------------------------------------------------------------

// Opens heap `name` as the kernel's open(/dev/dma_heap/<name>) would: a connected socket.
int OpenHeap(std::string_view name, int flags) {
  Inside inside;
  if ((flags & O_DIRECTORY) != 0) {
    errno = ENOTDIR;
    return -1;
  }
  Result<std::string> path = HeapSocketPath(St().heap_dir, name);
  if (!path.ok()) {
    errno = path.error();
    return -1;
  }
  const bool cloexec = (flags & O_CLOEXEC) != 0;
  Result<UniqueFd> sock = ConnectSocket(*path, cloexec);
  if (!sock.ok()) {
    // No such heap (or no daemon): ENOENT as for a missing node; a socket nobody serves: the
    // kernel's answer for a device that is gone.
    errno = sock.error() == ECONNREFUSED ? ENODEV : sock.error();
    return -1;
  }
  struct stat st {};
  ::fstat(sock->get(), &st);
  const int fd = sock->release();
  if (fd < kMaxTracked) {
    std::lock_guard lock(g_heap_mu);
    delete g_heaps[fd];
    g_heaps[fd] = new HeapFd{std::string(name), g_generation.load(), false, cloexec};
  }
  g_table.Mark(fd, Kind::kHeap, st.st_ino);
  return fd;
}

// Replaces the connection behind heap fd `fd` (after fork, or once the daemon came back),
// keeping the fd number. Requires g_heap_mu.
Result<void> ReconnectLocked(int fd, HeapFd& heap) {
  std::string path = TRY(HeapSocketPath(St().heap_dir, heap.name));
  UniqueFd sock = TRY(ConnectSocket(path, heap.cloexec));
  if (::dup3(sock.get(), fd, heap.cloexec ? O_CLOEXEC : 0) < 0) return Errno(errno);
  struct stat st {};
  ::fstat(fd, &st);
  g_table.Mark(fd, Kind::kHeap, st.st_ino);
  heap.generation = g_generation.load();
  heap.stale = false;
  return {};
}

// A buffer fd of this process, served with the dma-buf core's rules; its name goes to the daemon.
// The sync sanitizer sees every SYNC and name the shim accepts.
class ShimBuffer final : public DaemonBuffer {
 public:
  explicit ShimBuffer(int fd) : DaemonBuffer(St().heap_dir, fd), fd_(fd) {}
  Result<void> CpuAccess(DmaDirection dir, bool end) override {
    TRY(DaemonBuffer::CpuAccess(dir, end));
    if (sanitizer::Enabled()) sanitizer::Synced(fd_, sanitizer::SyncFlags(dir, end));
    return {};
  }
  Result<void> SetName(std::string name) override {
    const std::string copy = sanitizer::Enabled() ? name : std::string();
    TRY(DaemonBuffer::SetName(std::move(name)));
    if (sanitizer::Enabled()) sanitizer::Named(fd_, copy);
    return {};
  }
  FdInstaller& installer() override { return installer_; }
  bool IsSyncFile(int fd) override { return IsSignalledSyncFile(fd); }

 private:
  const int fd_;
  SelfFdInstaller installer_;
};

}  // namespace

State& St() {
  std::call_once(g_init, [] {
    Inside inside;
    auto* s = new State();
    // Detect kernel heaps by sysfs, not by /dev/dma_heap (which a container or dmaheap itself
    // may create). DMAHEAP_KERNEL_HEAPS names another directory to look for (tests).
    const char* sysfs = std::getenv("DMAHEAP_KERNEL_HEAPS");
    struct stat st {};
    s->passthrough =
        ::stat(sysfs != nullptr && *sysfs != '\0' ? sysfs : "/sys/class/dma_heap", &st) == 0;
    // The daemon a client finds (paths.h); where none serves yet, where the user's own would.
    if (auto dir = FindDaemonDir(); dir.ok()) {
      s->heap_dir = *dir;
    } else if (auto own = HeapDirPath(); own.ok()) {
      s->heap_dir = *own;
    }
    if (!s->heap_dir.empty()) s->device_path = DeviceSocketPathFor(s->heap_dir);
    s->thp = sys::ReadShmemThp();
    g_state = s;
    ::pthread_atfork(AtforkPrepare, AtforkParent, AtforkChild);
  });
  return *g_state;
}

bool Active() {
  if (t_inside != 0) return false;
  State& s = St();
  return !s.passthrough && !s.heap_dir.empty();
}

void Unmark(int fd) {
  // Only heap fds have an entry; closing a buffer fd never waits behind a heap round trip.
  if (g_table.Unmark(fd) != Kind::kHeap) return;
  std::lock_guard lock(g_heap_mu);
  delete g_heaps[fd];
  g_heaps[fd] = nullptr;
}

std::string Redirect(std::string_view rest) { return RedirectPath(St().heap_dir, rest); }

bool IsAbsolute(const char* path) { return path != nullptr && path[0] == '/'; }

void MarkIfBuffer(int fd) {
  struct stat st {};
  if (fd >= 0 && fd < kMaxTracked && ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
      sys::BufferHeapOfFd(fd, nullptr)) {
    g_table.Mark(fd, Kind::kBuffer, st.st_ino);
  }
}

int HeapIoctl(int fd, unsigned long request, void* arg) {
  Inside inside;
  const auto cmd = static_cast<unsigned int>(request);
  const HeapIoctlSizes sizes = DmaHeapIoctlSizes(cmd);
  if (!sizes.valid) return -EINVAL;
  uint8_t in[kMaxPayload];
  if (!sys::CopyFromUser(in, arg, sizes.in_size).ok()) return -EFAULT;

  std::lock_guard lock(g_heap_mu);
  HeapFd* heap = fd < kMaxTracked ? g_heaps[fd] : nullptr;
  if (heap == nullptr) return -ENODEV;
  if (heap->stale || heap->generation != g_generation.load()) {
    if (Result<void> r = ReconnectLocked(fd, *heap); !r.ok()) {
      heap->stale = true;
      return -ENODEV;
    }
  }
  Result<HeapCallResult> call = HeapIoctlCall(fd, cmd, in, sizes.in_size, St().thp);
  if (!call.ok()) {
    if (call.error() == ENODEV) heap->stale = true;
    return -call.error();
  }
  if (call->fd) {
    if ((call->fd_flags & O_CLOEXEC) == 0) ::fcntl(call->fd.get(), F_SETFD, 0);
    struct stat st {};
    ::fstat(call->fd.get(), &st);
    const int buf_fd = call->fd.release();
    g_table.Mark(buf_fd, Kind::kBuffer, st.st_ino);
    PatchAllocFd(call->out, buf_fd);
  }
  if (!sys::CopyToUser(arg, call->out.data(), call->out.size()).ok()) return -EFAULT;
  return -call->status;
}

int BufferIoctl(int fd, unsigned long request, void* arg) {
  Inside inside;
  SelfIoctlArg user(arg);
  ShimBuffer buffer(fd);
  return -DmaBufIoctl(static_cast<unsigned int>(request), user, buffer);
}

// An fd the table does not know (dup, exec, SCM_RIGHTS) that got ENOTTY for a heap, dma-buf or
// DRM ioctl: is it one of ours after all?
Kind Classify(int fd) {
  Inside inside;
  struct stat st {};
  if (::fstat(fd, &st) != 0) return Kind::kNone;
  if (S_ISREG(st.st_mode) && sys::BufferHeapOfFd(fd, nullptr)) {
    g_table.Mark(fd, Kind::kBuffer, st.st_ino);
    return Kind::kBuffer;
  }
  if (S_ISSOCK(st.st_mode)) {
    sockaddr_un peer{};
    socklen_t len = sizeof(peer);
    if (::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &len) != 0 ||
        peer.sun_family != AF_UNIX) {
      return Kind::kNone;
    }
    if (IsCardPeer(peer.sun_path)) {
      g_table.Mark(fd, Kind::kCard, st.st_ino);
      return Kind::kCard;
    }
    std::string name = HeapOfPeerPath(St().heap_dir, peer.sun_path);
    if (name.empty() || fd >= kMaxTracked) return Kind::kNone;
    const int fdflags = ::fcntl(fd, F_GETFD);
    std::lock_guard lock(g_heap_mu);
    delete g_heaps[fd];
    g_heaps[fd] = new HeapFd{name, g_generation.load(), false, (fdflags & FD_CLOEXEC) != 0};
    g_table.Mark(fd, Kind::kHeap, st.st_ino);
    return Kind::kHeap;
  }
  return Kind::kNone;
}

int SetErrno(int rc) {
  if (rc < 0) {
    errno = -rc;
    return -1;
  }
  return rc;
}

// The buffer's size, or -1 when `fd` is not (or no longer) one of our buffers.
off_t BufferSize(int fd) {
  if (KindOf(fd) != Kind::kBuffer) return -1;
  struct stat st {};
  if (!g_table.StillOurs(fd, &st)) {
    Unmark(fd);
    return -1;
  }
  return st.st_size;
}

// Marks the fd of the redirected heap directory, so openat(dirfd, "<heap>") works as on
// /dev/dma_heap.
int MarkHeapDir(int fd) {
  struct stat st {};
  if (fd >= 0 && ::fstat(fd, &st) == 0) g_table.Mark(fd, Kind::kHeapDir, st.st_ino);
  return fd;
}

int OpenAt(int dirfd, const char* path, int flags, mode_t mode, bool at) {
  REAL(openat);
  if (Active() && IsAbsolute(path) && CardNumber(path) >= 0) {
    const int fd = OpenCard(path, flags);
    if (fd != kNotOurs) return fd;
  }
  std::string_view rest;
  if (Active() && (!at || IsAbsolute(path)) && HeapPath(path, &rest)) {
    if (IsHeapName(rest)) return OpenHeap(rest, flags);
    std::string target = Redirect(rest);
    const int fd = real(AT_FDCWD, target.c_str(), flags, mode);
    return rest.empty() ? MarkHeapDir(fd) : fd;
  }
  if (at && KindOf(dirfd) == Kind::kHeapDir && !IsAbsolute(path) && g_table.StillOurs(dirfd) &&
      IsHeapName(path)) {
    return OpenHeap(path, flags);
  }
  return real(dirfd, path, flags, mode);
}

namespace {

// Marks what this process inherited across exec: heap sockets, cards and buffer memfds.
void ClassifyInherited() {
  Inside inside;
  static const auto real_opendir = Next<decltype(&::opendir)>("opendir");
  DIR* d = real_opendir("/proc/self/fd");
  if (d == nullptr) return;
  while (dirent* e = ::readdir(d)) {
    if (e->d_name[0] == '.') continue;
    int fd = std::atoi(e->d_name);
    if (fd == ::dirfd(d)) continue;
    Classify(fd);
  }
  ::closedir(d);
}

struct Init {
  Init() {
    if (!Active()) return;
    ClassifyInherited();
    sanitizer::Init();
  }
} g_init_on_load;

}  // namespace
}  // namespace dmaheap::preload
