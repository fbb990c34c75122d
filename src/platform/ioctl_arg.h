// The argument of one ioctl, wherever it lives, and where a new fd goes — so the one
// implementation of each ioctl's rules (heap/heap_ioctl.h, dmabuf/dma_buf_ioctl.h) serves every
// mode: this process's memory (embedded path, preload shim), another process's (the seccomp
// supervisor), or bytes carried over a socket (the daemon).
//
// Implementations never trust the pointer: memory they cannot reach is EFAULT, never a crash.
#ifndef DMAHEAP_SRC_PLATFORM_IOCTL_ARG_H
#define DMAHEAP_SRC_PLATFORM_IOCTL_ARG_H

#include <sys/types.h>

#include <cstddef>
#include <string>

#include "dmaheap/result.h"
#include "dmaheap/unique_fd.h"

namespace dmaheap {

class IoctlArg {
 public:
  virtual ~IoctlArg() = default;
  // copy_from_user of the first `len` bytes. EFAULT when they cannot be read.
  virtual Result<void> CopyIn(void* dst, size_t len) = 0;
  // copy_to_user of `len` bytes. EFAULT when they cannot be written.
  virtual Result<void> CopyOut(const void* src, size_t len) = 0;
  // strndup_user(arg, max): the NUL-terminated string the argument points at. EFAULT for
  // unreadable memory, EINVAL when no NUL comes within `max` bytes. The default answers EFAULT
  // (an argument that is bytes, not a pointer).
  virtual Result<std::string> CopyString(size_t max);
};

// An argument in this process: `arg` is the caller's pointer, read with process_vm_readv.
class SelfIoctlArg final : public IoctlArg {
 public:
  explicit SelfIoctlArg(void* arg) : arg_(arg) {}
  Result<void> CopyIn(void* dst, size_t len) override;
  Result<void> CopyOut(const void* src, size_t len) override;
  Result<std::string> CopyString(size_t max) override;

 private:
  void* arg_;
};

// An argument in process `pid` (a seccomp supervisor serving its target).
class ProcessIoctlArg final : public IoctlArg {
 public:
  ProcessIoctlArg(pid_t pid, void* arg) : pid_(pid), arg_(arg) {}
  Result<void> CopyIn(void* dst, size_t len) override;
  Result<void> CopyOut(const void* src, size_t len) override;
  Result<std::string> CopyString(size_t max) override;

 private:
  pid_t pid_;
  void* arg_;
};

// Where a new fd goes: installed in the caller's fd table (the number the caller will see is
// returned), or kept to be passed on.
class FdInstaller {
 public:
  virtual ~FdInstaller() = default;
  // Takes `fd`, which is close-on-exec (every fd the core creates is); `cloexec` is the flag the
  // caller asked for. Errors: EMFILE and whatever installing in another process gives.
  virtual Result<int> Install(UniqueFd fd, bool cloexec) = 0;
  // Takes back an fd Install gave, where the caller's fd table is reachable (the ioctl failed
  // after all). Default: nothing can be done.
  virtual void Revoke(int /*fd*/) {}
};

// Installs in this process: the fd itself, its close-on-exec flag cleared when not asked for.
class SelfFdInstaller final : public FdInstaller {
 public:
  Result<int> Install(UniqueFd fd, bool cloexec) override;
  void Revoke(int fd) override;
};

}  // namespace dmaheap

#endif  // DMAHEAP_SRC_PLATFORM_IOCTL_ARG_H
