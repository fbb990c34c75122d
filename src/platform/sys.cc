#include "platform/sys.h"

#include <fcntl.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "base/check.h"
#include "platform/fault.h"

#ifndef MFD_NOEXEC_SEAL
#define MFD_NOEXEC_SEAL 0x0008U
#endif
#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23
#endif

namespace dmaheap::sys {
namespace {

Error LastError() { return Errno(errno != 0 ? errno : EIO); }

// The fd path of the caller's own descriptor, as /proc/self/fd/N.
struct ProcFdPath {
  char text[32];
  explicit ProcFdPath(int fd) { std::snprintf(text, sizeof(text), "/proc/self/fd/%d", fd); }
};

}  // namespace

Result<UniqueFd> MemfdCreate(const char* name) {
  if (FaultsEnabled()) {
    if (const int err = InjectedFault("memfd")) return Errno(err);
  }
  int fd = ::memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_NOEXEC_SEAL);
  if (fd < 0 && errno == EINVAL) fd = ::memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0) return LastError();
  return UniqueFd(fd);
}

// The core's own file operations on buffer memfds are raw system calls: in a program running
// under the preload shim, libc's ftruncate/fallocate/mmap are the shim's, which answer for
// buffer fds as the kernel answers for a dma-buf (EINVAL, ENODEV) — right for the program, wrong
// for the library committing a buffer it just received.
Result<void> Ftruncate(int fd, uint64_t size) {
  if (RetryEintr([&] { return static_cast<int>(::syscall(SYS_ftruncate, fd, size)); }) != 0)
    return LastError();
  return {};
}

Result<void> Fallocate(int fd, uint64_t size) {
  if (FaultsEnabled()) {
    if (const int err = InjectedFault("fallocate")) return Errno(err == ENOSPC ? ENOMEM : err);
  }
  if (RetryEintr([&] { return static_cast<int>(::syscall(SYS_fallocate, fd, 0, 0, size)); }) != 0)
    return Errno(errno == ENOSPC ? ENOMEM : errno);
  return {};
}

Result<void> PopulateHuge(int fd, uint64_t size) {
  void* p = reinterpret_cast<void*>(
      ::syscall(SYS_mmap, nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0));
  if (p == MAP_FAILED) return LastError();
  ::madvise(p, size, MADV_HUGEPAGE);  // advisory: 4 KiB pages still work without it
  int rc = RetryEintr([&] { return ::madvise(p, size, MADV_POPULATE_WRITE); });
  int err = errno;
  ::munmap(p, size);
  if (rc != 0) {
    // Kernels before 5.14 lack MADV_POPULATE_WRITE: commit with fallocate instead.
    if (err == EINVAL) return Fallocate(fd, size);
    return Errno(err == EFAULT || err == ENOSPC ? ENOMEM : err);
  }
  return {};
}

Result<void> AddSeals(int fd, int seals) {
  if (::fcntl(fd, F_ADD_SEALS, seals) != 0) return LastError();
  return {};
}

Result<UniqueFd> Reopen(int fd, int flags) {
  ProcFdPath path(fd);
  int nfd = RetryEintr([&] { return ::open(path.text, flags); });
  if (nfd < 0) return LastError();
  return UniqueFd(nfd);
}

Result<void> SetCloexec(int fd, bool cloexec) {
  if (::fcntl(fd, F_SETFD, cloexec ? FD_CLOEXEC : 0) != 0) return LastError();
  return {};
}

Result<struct stat> Fstat(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return LastError();
  return st;
}

Result<void> CopyFromProcess(pid_t pid, void* dst, const void* remote_src, size_t len) {
  if (len == 0) return {};
  iovec local{dst, len};
  iovec remote{const_cast<void*>(remote_src), len};
  ssize_t n = ::process_vm_readv(pid, &local, 1, &remote, 1, 0);
  if (n != static_cast<ssize_t>(len)) return Errno(EFAULT);
  return {};
}

Result<void> CopyToProcess(pid_t pid, void* remote_dst, const void* src, size_t len) {
  if (len == 0) return {};
  iovec local{const_cast<void*>(src), len};
  iovec remote{remote_dst, len};
  ssize_t n = ::process_vm_writev(pid, &local, 1, &remote, 1, 0);
  if (n != static_cast<ssize_t>(len)) return Errno(EFAULT);
  return {};
}

Result<void> CopyFromUser(void* dst, const void* user_src, size_t len) {
  return CopyFromProcess(::getpid(), dst, user_src, len);
}

Result<void> CopyToUser(void* user_dst, const void* src, size_t len) {
  return CopyToProcess(::getpid(), user_dst, src, len);
}

Result<std::string> CopyStringFromUser(const char* user, size_t max) {
  return CopyStringFromProcess(::getpid(), user, max);
}

Result<std::string> CopyStringFromProcess(pid_t pid, const char* user, size_t max) {
  std::string out(max, '\0');
  size_t got = 0;
  while (got < max) {
    auto addr = reinterpret_cast<uintptr_t>(user + got);
    size_t chunk = std::min(max - got, kPageSize - (addr % kPageSize));
    TRY(CopyFromProcess(pid, out.data() + got, user + got, chunk));
    const void* nul = std::memchr(out.data() + got, '\0', chunk);
    if (nul != nullptr) {
      out.resize(static_cast<const char*>(nul) - out.data());
      return out;
    }
    got += chunk;
  }
  return Errno(EINVAL);
}

ShmemThp ReadShmemThp() {
  UniqueFd fd(::open("/sys/kernel/mm/transparent_hugepage/shmem_enabled", O_RDONLY | O_CLOEXEC));
  if (!fd) return ShmemThp::kHugeNever;
  char buf[128] = {};
  ssize_t n = ::read(fd.get(), buf, sizeof(buf) - 1);
  if (n <= 0) return ShmemThp::kHugeNever;
  // The active mode is the bracketed word, e.g. "always within_size advise [never] deny force".
  const char* open = std::strchr(buf, '[');
  if (open == nullptr) return ShmemThp::kHugeNever;
  std::string_view mode(open + 1);
  mode = mode.substr(0, mode.find(']'));
  if (mode == "advise" || mode == "within_size" || mode == "always" || mode == "force")
    return ShmemThp::kHugeAdvise;
  return ShmemThp::kHugeNever;
}

std::string_view ShmemThpName(ShmemThp mode) {
  return mode == ShmemThp::kHugeAdvise ? "shmem-thp" : "4k";
}

Result<UniqueFd> InotifyInitAs(uid_t uid) {
  const uid_t own = ::geteuid();
  const auto keep = static_cast<uid_t>(-1);
  if (::syscall(SYS_setresuid, keep, uid, keep) != 0) return LastError();
  const int fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  const int err = errno;
  // Taking the own uid back cannot fail for a thread whose saved uid is still its own; if it
  // did, the thread would go on with the client's rights, so that is fatal.
  DMAHEAP_CHECK(::syscall(SYS_setresuid, keep, own, keep) == 0);
  if (fd < 0) return Errno(err);
  return UniqueFd(fd);
}

}  // namespace dmaheap::sys
