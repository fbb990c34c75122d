// The preload shim's machinery behind its interposed libc entry points (preload.cc): its state,
// the heap fds (connected sockets to the daemon's heap sockets) and their round trips, buffer
// fds served with the dma-buf core's rules, the vgem card (shim_card.cc), and the recognition of
// fds the shim did not open itself. See preload.cc for what the shim does as a whole.
#ifndef DMAHEAP_SRC_PRELOAD_SHIM_H
#define DMAHEAP_SRC_PRELOAD_SHIM_H

#include <dlfcn.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <string>
#include <string_view>

#include "platform/sys.h"
#include "preload/fd_table.h"

namespace dmaheap::preload {

// The next definition of a libc function (the real one).
template <typename F>
F Next(const char* name) {
  return reinterpret_cast<F>(::dlsym(RTLD_NEXT, name));
}

#define REAL(fn) static const auto real = ::dmaheap::preload::Next<decltype(&::fn)>(#fn)

struct State {
  bool passthrough = false;  // the kernel has real heaps
  std::string heap_dir;      // empty: no directory can be derived
  std::string device_path;   // the daemon's device socket; empty: none can be derived
  sys::ShmemThp thp = sys::ShmemThp::kHugeNever;
};
// Read once, on first use.
State& St();

// Non-zero while this thread runs the shim's own code (set-up, a heap round trip, a buffer
// ioctl): the libc calls that code makes (stat, open, fallocate, close, recvmsg) reach the
// shim's own interposers, which must then pass straight through.
extern thread_local int t_inside;
struct Inside {
  Inside() { ++t_inside; }
  ~Inside() { --t_inside; }
  Inside(const Inside&) = delete;
  Inside& operator=(const Inside&) = delete;
};

// Whether the shim serves this call: no kernel heaps, a heap directory, not the shim itself.
bool Active();

extern FdTable g_table;
// The table's answer, except inside the shim's own code (kNone there).
inline Kind KindOf(int fd) { return t_inside != 0 ? Kind::kNone : g_table.KindOf(fd); }
// Forgets `fd` (closed or reused), with its heap connection's state.
void Unmark(int fd);

// The shim's answers: 0 or a result, or -errno.
int OpenAt(int dirfd, const char* path, int flags, mode_t mode, bool at);
int HeapIoctl(int fd, unsigned long request, void* arg);
int BufferIoctl(int fd, unsigned long request, void* arg);
// An fd the table does not know that got ENOTTY for a heap, dma-buf or DRM ioctl: is it the
// shim's?
Kind Classify(int fd);
// A buffer fd received over a socket (recvmsg's SCM_RIGHTS): marked at once.
void MarkIfBuffer(int fd);
// The buffer's size, or -1 when `fd` is not (or no longer) one of the shim's buffers.
off_t BufferSize(int fd);
// Marks the fd of the redirected heap directory, so openat(dirfd, "<heap>") works as on
// /dev/dma_heap. Returns `fd`.
int MarkHeapDir(int fd);
// /dev/dma_heap[/rest] → the heap directory's path.
std::string Redirect(std::string_view rest);

// The vgem card (shim_card.cc). OpenCard answers an open of `path` when it is the card's
// (drm/vgem_card.h) and the daemon's board has vgem: the marked card fd, or -1 with errno;
// otherwise kNotOurs, and the host answers.
inline constexpr int kNotOurs = -2;
int OpenCard(const char* path, int flags);
// The DRM ioctls on a card fd: 0 or -errno.
int CardIoctl(int fd, unsigned long request, void* arg);
// Whether a socket's peer address is the daemon's device socket: a card fd the shim did not open.
bool IsCardPeer(std::string_view peer);
// Held across fork, as the heap lock is, so no card round trip is cut in half in the child.
void LockCards();
void UnlockCards();

// A path that starts with '/'. Not declared nonnull, unlike the libc prototypes whose arguments
// it checks (so the compiler cannot drop the NULL test), and not inlined for the same reason.
[[gnu::noinline]] bool IsAbsolute(const char* path);

// -errno → -1 with errno set; anything else as is.
int SetErrno(int rc);

}  // namespace dmaheap::preload

#endif  // DMAHEAP_SRC_PRELOAD_SHIM_H
