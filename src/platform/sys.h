// The OS seam: every system call the core makes on buffers goes through here (CONVENTIONS R20).
//
// Preconditions for all functions: fds are open descriptors owned by the caller; nothing here
// takes ownership unless it returns a UniqueFd. EINTR is retried inside; every other failure is
// returned as the errno the kernel gave, except where a comment says it is translated.
#ifndef DMAHEAP_SRC_PLATFORM_SYS_H
#define DMAHEAP_SRC_PLATFORM_SYS_H

#include <sys/stat.h>
#include <sys/types.h>

#include <cerrno>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "dmaheap/result.h"
#include "dmaheap/unique_fd.h"

namespace dmaheap::sys {

inline constexpr size_t kPageSize = 4096;  // the modelled PAGE_SIZE; the host's must match
inline constexpr unsigned kPageShift = 12;

// Retries `call` while it fails with EINTR; returns its last return value.
template <typename F>
auto RetryEintr(F&& call) {
  decltype(call()) ret;
  do {
    ret = call();
  } while (ret == -1 && errno == EINTR);
  return ret;
}

// memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_NOEXEC_SEAL), falling back to no
// NOEXEC_SEAL on kernels that refuse it (before 6.3: EINVAL).
Result<UniqueFd> MemfdCreate(const char* name);

Result<void> Ftruncate(int fd, uint64_t size);

// Commits `size` bytes of shmem backing. ENOSPC (tmpfs out of memory) becomes ENOMEM: for a
// heap this is "out of memory", as the kernel reports it.
Result<void> Fallocate(int fd, uint64_t size);

// Commits through a temporary shared mapping with MADV_HUGEPAGE + MADV_POPULATE_WRITE, so shmem
// can back the buffer with huge folios. ENOMEM when the memory cannot be committed.
Result<void> PopulateHuge(int fd, uint64_t size);

Result<void> AddSeals(int fd, int seals);

// Opens the file behind `fd` anew through /proc/self/fd with `flags` (an access mode plus
// O_CLOEXEC): a new open file description with its own access mode.
Result<UniqueFd> Reopen(int fd, int flags);

Result<void> SetCloexec(int fd, bool cloexec);

Result<struct stat> Fstat(int fd);

// inotify_init1(IN_NONBLOCK | IN_CLOEXEC) charged to `uid`: the kernel counts an instance's
// watches against fs.inotify.max_user_watches of the effective uid that created it, for the
// instance's whole life. The calling thread alone takes `uid` as its effective uid for the call
// (the raw setresuid system call changes one thread's credentials, where glibc's changes every
// thread's) and takes its own back before returning. Needs CAP_SETUID (a root daemon); EPERM
// otherwise; EMFILE when `uid` has fs.inotify.max_user_instances instances already.
Result<UniqueFd> InotifyInitAs(uid_t uid);

// Copies between this process's memory and a caller-supplied pointer without trusting it:
// process_vm_readv/writev on our own pid, so a bad pointer gives EFAULT instead of SIGSEGV.
Result<void> CopyFromUser(void* dst, const void* user_src, size_t len);
Result<void> CopyToUser(void* user_dst, const void* src, size_t len);
// The same on another process's memory (a seccomp supervisor serving its target).
Result<void> CopyFromProcess(pid_t pid, void* dst, const void* remote_src, size_t len);
Result<void> CopyToProcess(pid_t pid, void* remote_dst, const void* src, size_t len);

// strndup_user(user, max): the NUL-terminated string at `user`, read without touching the page
// after its NUL. EFAULT for unreadable memory; EINVAL when no NUL comes within `max` bytes
// (so at most max - 1 characters).
Result<std::string> CopyStringFromUser(const char* user, size_t max);
Result<std::string> CopyStringFromProcess(pid_t pid, const char* remote, size_t max);

// The host's shmem transparent-huge-page policy (/sys/kernel/mm/transparent_hugepage/
// shmem_enabled): kHugeAdvise covers `advise`, `within_size` and `always`, where MADV_HUGEPAGE
// on a memfd mapping gets huge folios; kHugeNever covers `never`, `deny` and hosts without THP.
enum class ShmemThp { kHugeNever, kHugeAdvise };
ShmemThp ReadShmemThp();
std::string_view ShmemThpName(ShmemThp mode);

}  // namespace dmaheap::sys

#endif  // DMAHEAP_SRC_PLATFORM_SYS_H
