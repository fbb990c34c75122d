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
// - /dev/dri/cardN, the first the host lacks, opens as a vgem card while the daemon's board has
//   vgem (shim_card.cc): a connection to the daemon's device socket, whose DRM ioctls
//   (VERSION, PRIME_FD_TO_HANDLE, GEM_CLOSE) attach and detach buffers for the vgem device.
// - DMAHEAP_SANITIZE=sync: the sync sanitizer (sanitizer.h) tracks buffer mappings (mmap,
//   munmap, mprotect, mremap), reports CPU access outside SYNC brackets, keeps its SIGSEGV
//   handler first (sigaction, signal) and decides the exit status (_exit, and its destructor).
//
// Which fds are ours: a table indexed by fd number holds the inode of each heap, buffer and card
// fd this process opened or received. A call on any other fd costs one table load, no syscall. A
// marked fd is checked with fstat before it is treated as ours (the number may have been reused
// by dup2 or exec); an unmarked fd that the kernel answers ENOTTY for a heap, dma-buf or DRM
// ioctl is inspected once (dup, fcntl(F_DUPFD), fds inherited across exec).
//
// Where the kernel has real heaps (/sys/class/dma_heap) the shim steps aside entirely. It never
// aborts its host: a dead daemon gives ENODEV, and the next call on that heap fd reconnects.

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>
#include <string_view>

#include "dmabuf/dma_buf_rules.h"
#include "preload/fd_table.h"
#include "preload/sanitizer.h"
#include "preload/shim.h"

#define DMAHEAP_EXPORT extern "C" __attribute__((visibility("default")))

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

namespace {

int Serve(Kind kind, int fd, unsigned long request, void* arg) {
  switch (kind) {
    case Kind::kHeap:
      return HeapIoctl(fd, request, arg);
    case Kind::kCard:
      return CardIoctl(fd, request, arg);
    default:
      return BufferIoctl(fd, request, arg);
  }
}

// The marks that carry no state beside the fd number, so a duplicate is what its original is.
// A heap fd's connection state is per number: a duplicate is recognised on its first ioctl.
bool DupKeepsMark(Kind kind) { return kind == Kind::kBuffer || kind == Kind::kCard; }

}  // namespace

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
    if (!MayBeOurIoctl(request)) return rc;
    const Kind found = Classify(fd);
    if (found == Kind::kNone) {
      errno = ENOTTY;
      return -1;
    }
    return SetErrno(Serve(found, fd, request, arg));
  }
  if (kind == Kind::kHeapDir || !g_table.StillOurs(fd)) {
    if (kind != Kind::kHeapDir) Unmark(fd);
    return real(fd, request, arg);
  }
  return SetErrno(Serve(kind, fd, request, arg));
}

DMAHEAP_EXPORT int close(int fd) {
  REAL(close);
  if (KindOf(fd) != Kind::kNone) Unmark(fd);
  return real(fd);
}

DMAHEAP_EXPORT int dup(int fd) {
  REAL(dup);
  int nfd = real(fd);
  if (nfd >= 0 && DupKeepsMark(KindOf(fd))) g_table.CopyMark(fd, nfd);
  return nfd;
}

DMAHEAP_EXPORT int dup2(int fd, int nfd) {
  REAL(dup2);
  if (KindOf(nfd) != Kind::kNone && nfd != fd) Unmark(nfd);
  int rc = real(fd, nfd);
  if (rc >= 0 && DupKeepsMark(KindOf(fd))) g_table.CopyMark(fd, rc);
  return rc;
}

DMAHEAP_EXPORT int dup3(int fd, int nfd, int flags) {
  REAL(dup3);
  if (KindOf(nfd) != Kind::kNone && nfd != fd) Unmark(nfd);
  int rc = real(fd, nfd, flags);
  if (rc >= 0 && DupKeepsMark(KindOf(fd))) g_table.CopyMark(fd, rc);
  return rc;
}

DMAHEAP_EXPORT void* mmap(void* addr, size_t len, int prot, int flags, int fd, off_t off) {
  REAL(mmap);
  bool buffer = false;
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
      buffer = true;
    }
  }
  if (sanitizer::Enabled()) return sanitizer::Map(real, addr, len, prot, flags, fd, off, buffer);
  return real(addr, len, prot, flags, fd, off);
}
DMAHEAP_EXPORT void* mmap64(void* addr, size_t len, int prot, int flags, int fd, off_t off) {
  return mmap(addr, len, prot, flags, fd, off);
}

// The sync sanitizer (sanitizer.h) keeps its table of buffer mappings through these; without it
// they are libc's.
DMAHEAP_EXPORT int munmap(void* addr, size_t len) {
  REAL(munmap);
  if (sanitizer::Enabled()) return sanitizer::Unmap(real, addr, len);
  return real(addr, len);
}

DMAHEAP_EXPORT int mprotect(void* addr, size_t len, int prot) {
  REAL(mprotect);
  if (sanitizer::Enabled()) return sanitizer::Protect(real, addr, len, prot);
  return real(addr, len, prot);
}

DMAHEAP_EXPORT void* mremap(void* old_addr, size_t old_size, size_t new_size, int flags, ...) {
  REAL(mremap);
  void* new_addr = nullptr;
  if ((flags & MREMAP_FIXED) != 0) {
    va_list ap;
    va_start(ap, flags);
    new_addr = va_arg(ap, void*);
    va_end(ap);
  }
  if (sanitizer::Enabled())
    return sanitizer::Remap(real, old_addr, old_size, new_size, flags, new_addr);
  return real(old_addr, old_size, new_size, flags, new_addr);
}

// The sanitizer's SIGSEGV handler stays installed; the program's is kept to chain to.
DMAHEAP_EXPORT int sigaction(int sig, const struct sigaction* act, struct sigaction* old) {
  REAL(sigaction);
  if (sig == SIGSEGV && sanitizer::Enabled()) return sanitizer::SegvAction(act, old);
  return real(sig, act, old);
}

DMAHEAP_EXPORT sighandler_t signal(int sig, sighandler_t handler) {
  REAL(signal);
  if (sig != SIGSEGV || !sanitizer::Enabled()) return real(sig, handler);
  struct sigaction act {};
  struct sigaction old {};
  act.sa_handler = handler;
  act.sa_flags = SA_RESTART;  // signal()'s BSD semantics
  if (handler == SIG_ERR) {
    errno = EINVAL;
    return SIG_ERR;
  }
  sanitizer::SegvAction(&act, &old);
  return old.sa_handler;
}

// Exiting: a sanitized process that made unbracketed accesses exits with the sanitizer's status.
// (exit() reaches the same check through the shim's destructor.)
DMAHEAP_EXPORT void _exit(int status) {
  static const auto real = Next<void (*)(int)>("_exit");
  real(sanitizer::Enabled() ? sanitizer::ExitStatus(status) : status);
  __builtin_unreachable();
}
DMAHEAP_EXPORT void _Exit(int status) { _exit(status); }

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
      dmaheap::Result<off_t> pos = BufferLseek(off, whence, size);
      if (pos.ok()) return *pos;
      errno = pos.error();
      return -1;
    }
  }
  if (KindOf(fd) == Kind::kHeap && g_table.StillOurs(fd)) {
    errno = ESPIPE;  // nonseekable_open
    return -1;
  }
  if (KindOf(fd) == Kind::kCard && g_table.StillOurs(fd)) return 0;  // DRM fops: noop_llseek
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
      MarkIfBuffer(fd);
    }
  }
  return n;
}
