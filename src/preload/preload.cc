// libdmaheap_preload.so: gives unmodified programs /dev/dma_heap on a machine without kernel
// heaps, by interposing the libc calls they make (LD_PRELOAD) and serving them from dmaheapd.
//
// - /dev/dma_heap and /dev/dma_heap/<name> are redirected to the daemon's heap directory
//   (open/openat and their fortified and 64-bit forms, opendir, scandir, stat/lstat/fstatat/
//   statx/access). Opening a heap connects a socket to its heap socket: that socket is the heap
//   fd.
// - ioctl on a heap fd runs DMA_HEAP_IOCTL_ALLOC with the kernel's size rules: the argument is
//   copied in with process_vm_readv (a bad pointer gives EFAULT), the daemon answers through the
//   same DmaHeapIoctl as every other path, the new buffer's memory is committed here (so it is
//   charged to this process), and the bytes are copied back.
// - ioctl on a buffer fd answers DMA_BUF_IOCTL_SYNC, SET_NAME_A/B, EXPORT/IMPORT_SYNC_FILE with
//   the kernel's validation; mmap/read/write/lseek/fallocate/ftruncate answer as a dma-buf does.
//
// Which fds are ours: a table indexed by fd number holds the inode of each heap and buffer fd
// this process opened or received. A call on any other fd costs one table load, no syscall. A
// marked fd is checked with fstat before it is treated as ours (the number may have been reused
// by dup2 or exec); an unmarked fd that the kernel answers ENOTTY for a heap or dma-buf ioctl is
// inspected once (dup, fcntl(F_DUPFD), fds inherited across exec).
//
// Where the kernel has real heaps (/sys/class/dma_heap) the shim steps aside entirely. It never
// aborts its host: a dead daemon gives ENODEV, and the next call on that heap fd reconnects.

#include <dirent.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <linux/dma-heap.h>
#include <pthread.h>
#include <stdarg.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <string_view>

#include "base/check.h"
#include "dmabuf/dma_buf_ioctl.h"
#include "dmabuf/dma_buf_rules.h"
#include "dmaheap/uapi/linux/dma-buf.h"
#include "heap/heap_ioctl.h"
#include "ipc/heap_call.h"
#include "ipc/paths.h"
#include "ipc/transport.h"
#include "platform/fd_info.h"
#include "platform/ioctl_arg.h"
#include "platform/sys.h"

#define DMAHEAP_EXPORT extern "C" __attribute__((visibility("default")))

namespace dmaheap::preload {
namespace {

// ---- the real functions ---------------------------------------------------------------------

template <typename F>
F Next(const char* name) {
  return reinterpret_cast<F>(::dlsym(RTLD_NEXT, name));
}

#define REAL(fn) \
  static const auto real = Next<decltype(&::fn)>(#fn)

// ---- state ----------------------------------------------------------------------------------

constexpr char kDevDir[] = "/dev/dma_heap";
constexpr size_t kDevDirLen = sizeof(kDevDir) - 1;
constexpr int kMaxTracked = 1 << 16;

enum class Kind : uint8_t { kNone = 0, kHeap = 1, kBuffer = 2, kHeapDir = 3 };

// Per fd: kind in the low byte, inode above it; 0 == not ours.
std::atomic<uint64_t> g_fds[kMaxTracked];

struct State {
  bool passthrough = false;  // the kernel has real heaps
  std::string heap_dir;      // empty: no directory can be derived
  sys::ShmemThp thp = sys::ShmemThp::kHugeNever;
};
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

void AtforkPrepare() { g_heap_mu.lock(); }
void AtforkParent() { g_heap_mu.unlock(); }
// A child must not share its parent's daemon connections: replies would cross. Each heap fd
// reconnects on its next use in the child.
void AtforkChild() {
  g_generation.fetch_add(1);
  g_heap_mu.unlock();
}

void ClassifyInherited();

// Non-zero while this thread runs the shim's own code (set-up, a heap round trip, a buffer
// ioctl): the libc calls that code makes (stat, open, fallocate, close, recvmsg) reach our own
// interposers, which must then pass straight through.
thread_local int t_inside = 0;
struct Inside {
  Inside() { ++t_inside; }
  ~Inside() { --t_inside; }
  Inside(const Inside&) = delete;
  Inside& operator=(const Inside&) = delete;
};

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
    if (auto dir = HeapDirPath(); dir.ok()) s->heap_dir = *dir;
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

Kind KindOf(int fd) {
  if (fd < 0 || fd >= kMaxTracked || t_inside != 0) return Kind::kNone;
  return static_cast<Kind>(g_fds[fd].load(std::memory_order_relaxed) & 0xFF);
}

void Mark(int fd, Kind kind, ino_t ino) {
  if (fd < 0 || fd >= kMaxTracked) return;
  g_fds[fd].store(static_cast<uint64_t>(kind) | (static_cast<uint64_t>(ino) << 8),
                  std::memory_order_relaxed);
}

void Unmark(int fd) {
  if (fd < 0 || fd >= kMaxTracked) return;
  const auto old = static_cast<Kind>(g_fds[fd].exchange(0, std::memory_order_relaxed) & 0xFF);
  // Only heap fds have an entry; closing a buffer fd never waits behind a heap round trip.
  if (old != Kind::kHeap) return;
  std::lock_guard lock(g_heap_mu);
  delete g_heaps[fd];
  g_heaps[fd] = nullptr;
}

// A marked fd is ours only while it still refers to the inode it was marked with.
bool StillOurs(int fd, struct stat* st_out = nullptr) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return false;
  const uint64_t v = g_fds[fd].load(std::memory_order_relaxed);
  if ((v >> 8) != (static_cast<uint64_t>(st.st_ino) & (~uint64_t{0} >> 8))) return false;
  if (st_out != nullptr) *st_out = st;
  return true;
}

// "/dev/dma_heap" → "", "/dev/dma_heap/x" → "x", else nullopt-like (returns false).
bool HeapPath(const char* path, std::string_view* rest) {
  if (path == nullptr || std::strncmp(path, kDevDir, kDevDirLen) != 0) return false;
  const char* p = path + kDevDirLen;
  if (*p == '\0') {
    *rest = "";
    return true;
  }
  if (*p != '/') return false;
  while (*p == '/') ++p;
  *rest = p;
  return true;
}

std::string Redirect(std::string_view rest) {
  std::string out = St().heap_dir;
  if (!rest.empty()) {
    out += '/';
    out += rest;
  }
  return out;
}

// Not marked nonnull, unlike the libc prototypes whose arguments it checks.
__attribute__((noinline)) bool IsAbsolute(const char* path) {
  return path != nullptr && path[0] == '/';
}

bool IsHeapName(std::string_view name) {
  return !name.empty() && name.find('/') == std::string_view::npos && name != "." &&
         name != "..";
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
  Mark(fd, Kind::kHeap, st.st_ino);
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
  Mark(fd, Kind::kHeap, st.st_ino);
  heap.generation = g_generation.load();
  heap.stale = false;
  return {};
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
    Mark(buf_fd, Kind::kBuffer, st.st_ino);
    PatchAllocFd(call->out, buf_fd);
  }
  if (!sys::CopyToUser(arg, call->out.data(), call->out.size()).ok()) return -EFAULT;
  return -call->status;
}

// ---- buffer fds -----------------------------------------------------------------------------

bool BufferHeapName(int fd, std::string* heap) { return sys::BufferHeapOfFd(fd, heap); }

// A buffer fd of this process, served with the dma-buf core's rules; its name goes to the daemon.
class ShimBuffer final : public DaemonBuffer {
 public:
  explicit ShimBuffer(int fd) : DaemonBuffer(St().heap_dir, fd) {}
  FdInstaller& installer() override { return installer_; }
  bool IsSyncFile(int fd) override { return IsSignalledSyncFile(fd); }

 private:
  SelfFdInstaller installer_;
};

int BufferIoctl(int fd, unsigned long request, void* arg) {
  Inside inside;
  SelfIoctlArg user(arg);
  ShimBuffer buffer(fd);
  return -DmaBufIoctl(static_cast<unsigned int>(request), user, buffer);
}

// An fd the table does not know (dup, exec, SCM_RIGHTS) that got ENOTTY for a heap or dma-buf
// ioctl: is it one of ours after all?
Kind Classify(int fd) {
  Inside inside;
  struct stat st {};
  if (::fstat(fd, &st) != 0) return Kind::kNone;
  if (S_ISREG(st.st_mode) && BufferHeapName(fd, nullptr)) {
    Mark(fd, Kind::kBuffer, st.st_ino);
    return Kind::kBuffer;
  }
  if (S_ISSOCK(st.st_mode)) {
    sockaddr_un peer{};
    socklen_t len = sizeof(peer);
    if (::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &len) != 0 ||
        peer.sun_family != AF_UNIX) {
      return Kind::kNone;
    }
    std::string name = HeapOfPeerPath(St().heap_dir, peer.sun_path);
    if (name.empty() || fd >= kMaxTracked) return Kind::kNone;
    const int fdflags = ::fcntl(fd, F_GETFD);
    std::lock_guard lock(g_heap_mu);
    delete g_heaps[fd];
    g_heaps[fd] = new HeapFd{name, g_generation.load(), false, (fdflags & FD_CLOEXEC) != 0};
    Mark(fd, Kind::kHeap, st.st_ino);
    return Kind::kHeap;
  }
  return Kind::kNone;
}

// Marks what this process inherited across exec: heap sockets and buffer memfds.
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
  if (!StillOurs(fd, &st)) {
    Unmark(fd);
    return -1;
  }
  return st.st_size;
}

// Marks the fd of the redirected heap directory, so openat(dirfd, "<heap>") works as on
// /dev/dma_heap.
int MarkHeapDir(int fd) {
  struct stat st {};
  if (fd >= 0 && ::fstat(fd, &st) == 0) Mark(fd, Kind::kHeapDir, st.st_ino);
  return fd;
}

int OpenAt(int dirfd, const char* path, int flags, mode_t mode, bool at) {
  REAL(openat);
  std::string_view rest;
  if (Active() && (!at || IsAbsolute(path)) && HeapPath(path, &rest)) {
    if (IsHeapName(rest)) return OpenHeap(rest, flags);
    std::string target = Redirect(rest);
    const int fd = real(AT_FDCWD, target.c_str(), flags, mode);
    return rest.empty() ? MarkHeapDir(fd) : fd;
  }
  if (at && KindOf(dirfd) == Kind::kHeapDir && !IsAbsolute(path) && StillOurs(dirfd) &&
      IsHeapName(path)) {
    return OpenHeap(path, flags);
  }
  return real(dirfd, path, flags, mode);
}

struct Init {
  Init() {
    if (Active()) ClassifyInherited();
  }
} g_init_on_load;

}  // namespace
}  // namespace dmaheap::preload

using namespace dmaheap::preload;  // NOLINT

// ---- interposed entry points ----------------------------------------------------------------

#define MODE_ARG(flags)                                   \
  mode_t mode = 0;                                        \
  if (((flags) & O_CREAT) != 0 || ((flags) & O_TMPFILE) == O_TMPFILE) { \
    va_list ap;                                           \
    va_start(ap, flags);                                  \
    mode = static_cast<mode_t>(va_arg(ap, int));          \
    va_end(ap);                                           \
  }

DMAHEAP_EXPORT int open(const char* path, int flags, ...) {
  MODE_ARG(flags);
  return OpenAt(AT_FDCWD, path, flags, mode, false);
}
DMAHEAP_EXPORT int open64(const char* path, int flags, ...) {
  MODE_ARG(flags);
  return OpenAt(AT_FDCWD, path, flags | O_LARGEFILE, mode, false);
}
DMAHEAP_EXPORT int openat(int dirfd, const char* path, int flags, ...) {
  MODE_ARG(flags);
  return OpenAt(dirfd, path, flags, mode, true);
}
DMAHEAP_EXPORT int openat64(int dirfd, const char* path, int flags, ...) {
  MODE_ARG(flags);
  return OpenAt(dirfd, path, flags | O_LARGEFILE, mode, true);
}
DMAHEAP_EXPORT int __open_2(const char* path, int flags) {
  return OpenAt(AT_FDCWD, path, flags, 0, false);
}
DMAHEAP_EXPORT int __open64_2(const char* path, int flags) {
  return OpenAt(AT_FDCWD, path, flags | O_LARGEFILE, 0, false);
}
DMAHEAP_EXPORT int __openat_2(int dirfd, const char* path, int flags) {
  return OpenAt(dirfd, path, flags, 0, true);
}
DMAHEAP_EXPORT int __openat64_2(int dirfd, const char* path, int flags) {
  return OpenAt(dirfd, path, flags | O_LARGEFILE, 0, true);
}

DMAHEAP_EXPORT DIR* opendir(const char* path) {
  REAL(opendir);
  std::string_view rest;
  if (Active() && HeapPath(path, &rest)) {
    DIR* dir = real(Redirect(rest).c_str());
    if (dir != nullptr && rest.empty()) MarkHeapDir(::dirfd(dir));
    return dir;
  }
  return real(path);
}

DMAHEAP_EXPORT int scandir(const char* path, struct dirent*** list,
                           int (*filter)(const struct dirent*),
                           int (*compar)(const struct dirent**, const struct dirent**)) {
  REAL(scandir);
  std::string_view rest;
  if (Active() && HeapPath(path, &rest)) return real(Redirect(rest).c_str(), list, filter, compar);
  return real(path, list, filter, compar);
}

#define REDIRECT_PATH_CALL(fn, path, ...)                                 \
  REAL(fn);                                                              \
  std::string_view rest;                                                 \
  if (Active() && HeapPath(path, &rest)) return real(Redirect(rest).c_str(), __VA_ARGS__); \
  return real(path, __VA_ARGS__)

DMAHEAP_EXPORT int stat(const char* path, struct stat* st) {
  REDIRECT_PATH_CALL(stat, path, st);
}
DMAHEAP_EXPORT int lstat(const char* path, struct stat* st) {
  REDIRECT_PATH_CALL(lstat, path, st);
}
DMAHEAP_EXPORT int access(const char* path, int mode) {
  REDIRECT_PATH_CALL(access, path, mode);
}
DMAHEAP_EXPORT int fstatat(int dirfd, const char* path, struct stat* st, int flags) {
  REAL(fstatat);
  std::string_view rest;
  if (Active() && IsAbsolute(path) && HeapPath(path, &rest))
    return real(AT_FDCWD, Redirect(rest).c_str(), st, flags);
  return real(dirfd, path, st, flags);
}
DMAHEAP_EXPORT int statx(int dirfd, const char* path, int flags, unsigned int mask,
                         struct statx* stx) {
  REAL(statx);
  std::string_view rest;
  if (Active() && IsAbsolute(path) && HeapPath(path, &rest))
    return real(AT_FDCWD, Redirect(rest).c_str(), flags, mask, stx);
  return real(dirfd, path, flags, mask, stx);
}

DMAHEAP_EXPORT int ioctl(int fd, unsigned long request, ...) {
  va_list ap;
  va_start(ap, request);
  void* arg = va_arg(ap, void*);
  va_end(ap);
  REAL(ioctl);
  const Kind kind = KindOf(fd);
  if (kind == Kind::kNone) {
    int rc = real(fd, request, arg);
    if (rc >= 0 || errno != ENOTTY || !Active()) return rc;
    const unsigned type = (request >> 8) & 0xFF;
    if (type != 'b' && type != 'H') return rc;
    const Kind found = Classify(fd);
    if (found == Kind::kNone) {
      errno = ENOTTY;
      return -1;
    }
    return SetErrno(found == Kind::kHeap ? HeapIoctl(fd, request, arg)
                                         : BufferIoctl(fd, request, arg));
  }
  if (kind == Kind::kHeapDir || !StillOurs(fd)) {
    if (kind != Kind::kHeapDir) Unmark(fd);
    return real(fd, request, arg);
  }
  return SetErrno(kind == Kind::kHeap ? HeapIoctl(fd, request, arg)
                                      : BufferIoctl(fd, request, arg));
}

DMAHEAP_EXPORT int close(int fd) {
  REAL(close);
  if (KindOf(fd) != Kind::kNone) Unmark(fd);
  return real(fd);
}

DMAHEAP_EXPORT int dup(int fd) {
  REAL(dup);
  int nfd = real(fd);
  if (nfd >= 0 && KindOf(fd) == Kind::kBuffer && nfd < kMaxTracked)
    g_fds[nfd].store(g_fds[fd].load());
  return nfd;
}

DMAHEAP_EXPORT int dup2(int fd, int nfd) {
  REAL(dup2);
  if (KindOf(nfd) != Kind::kNone && nfd != fd) Unmark(nfd);
  int rc = real(fd, nfd);
  if (rc >= 0 && KindOf(fd) == Kind::kBuffer && rc < kMaxTracked)
    g_fds[rc].store(g_fds[fd].load());
  return rc;
}

DMAHEAP_EXPORT int dup3(int fd, int nfd, int flags) {
  REAL(dup3);
  if (KindOf(nfd) != Kind::kNone && nfd != fd) Unmark(nfd);
  int rc = real(fd, nfd, flags);
  if (rc >= 0 && KindOf(fd) == Kind::kBuffer && rc < kMaxTracked)
    g_fds[rc].store(g_fds[fd].load());
  return rc;
}

DMAHEAP_EXPORT void* mmap(void* addr, size_t len, int prot, int flags, int fd, off_t off) {
  REAL(mmap);
  if (fd >= 0 && KindOf(fd) == Kind::kBuffer) {
    const off_t size = BufferSize(fd);
    if (size >= 0) {
      // dma_buf_mmap_internal: the mapping must lie inside the buffer; and heaps refuse
      // private (copy-on-write) mappings.
      if (!dmaheap::SharedMapping(flags) || off < 0 ||
          !dmaheap::MmapRangeValid(static_cast<uint64_t>(off), len, static_cast<uint64_t>(size))) {
        errno = EINVAL;
        return MAP_FAILED;
      }
    }
  }
  return real(addr, len, prot, flags, fd, off);
}
DMAHEAP_EXPORT void* mmap64(void* addr, size_t len, int prot, int flags, int fd, off_t off) {
  return mmap(addr, len, prot, flags, fd, off);
}

DMAHEAP_EXPORT int fallocate(int fd, int mode, off_t off, off_t len) {
  REAL(fallocate);
  if (BufferSize(fd) >= 0) {
    errno = ENODEV;
    return -1;
  }
  return real(fd, mode, off, len);
}
DMAHEAP_EXPORT int fallocate64(int fd, int mode, off_t off, off_t len) {
  return fallocate(fd, mode, off, len);
}

DMAHEAP_EXPORT int ftruncate(int fd, off_t len) {
  REAL(ftruncate);
  if (BufferSize(fd) >= 0) {
    errno = EINVAL;
    return -1;
  }
  return real(fd, len);
}
DMAHEAP_EXPORT int ftruncate64(int fd, off_t len) { return ftruncate(fd, len); }

DMAHEAP_EXPORT ssize_t read(int fd, void* buf, size_t len) {
  REAL(read);
  if (KindOf(fd) == Kind::kBuffer && BufferSize(fd) >= 0) {
    errno = EINVAL;
    return -1;
  }
  return real(fd, buf, len);
}

DMAHEAP_EXPORT ssize_t write(int fd, const void* buf, size_t len) {
  REAL(write);
  if (KindOf(fd) == Kind::kBuffer && BufferSize(fd) >= 0) {
    errno = EINVAL;
    return -1;
  }
  return real(fd, buf, len);
}

DMAHEAP_EXPORT off_t lseek(int fd, off_t off, int whence) {
  REAL(lseek);
  if (KindOf(fd) == Kind::kBuffer) {
    const off_t size = BufferSize(fd);
    if (size >= 0) {
      if (off == 0 && whence == SEEK_SET) return 0;
      if (off == 0 && whence == SEEK_END) return size;
      errno = EINVAL;
      return -1;
    }
  }
  if (KindOf(fd) == Kind::kHeap && StillOurs(fd)) {
    errno = ESPIPE;  // nonseekable_open
    return -1;
  }
  return real(fd, off, whence);
}
DMAHEAP_EXPORT off_t lseek64(int fd, off_t off, int whence) { return lseek(fd, off, whence); }

DMAHEAP_EXPORT ssize_t recvmsg(int sock, struct msghdr* msg, int flags) {
  REAL(recvmsg);
  ssize_t n = real(sock, msg, flags);
  if (n < 0 || msg == nullptr || msg->msg_controllen == 0 || !Active()) return n;
  // Buffers arriving from other processes are recognised at once.
  for (cmsghdr* c = CMSG_FIRSTHDR(msg); c != nullptr; c = CMSG_NXTHDR(msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    const size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < count; ++i) {
      int fd;
      std::memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
      struct stat st {};
      if (fd >= 0 && fd < kMaxTracked && ::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
          BufferHeapName(fd, nullptr)) {
        Mark(fd, Kind::kBuffer, st.st_ino);
      }
    }
  }
  return n;
}
