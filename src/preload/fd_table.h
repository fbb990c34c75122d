// The preload shim's decisions that need no interposition, so they can be tested in a plain
// program: which fds are the shim's (FdTable), which paths are /dev/dma_heap's and where they
// lead, and how a buffer fd answers the file calls a dma-buf answers differently from a memfd.
#ifndef DMAHEAP_SRC_PRELOAD_FD_TABLE_H
#define DMAHEAP_SRC_PRELOAD_FD_TABLE_H

#include <sys/stat.h>
#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <string>
#include <string_view>

#include "dmaheap/result.h"

namespace dmaheap::preload {

// kCard: the vgem card (/dev/dri/cardN), a connection to the daemon's device socket.
enum class Kind : uint8_t { kNone = 0, kHeap = 1, kBuffer = 2, kHeapDir = 3, kCard = 4 };

// Fds are tracked up to this number (the fd hard limit here is 20 000); higher ones are never
// the shim's, so calls on them go straight to libc.
inline constexpr int kMaxTracked = 1 << 16;

// Which fds of this process are heap fds, buffer fds, vgem cards or the redirected heap
// directory, and the inode each was marked with. A call on any other fd costs one relaxed load and no syscall. A
// marked fd is the shim's only while it still refers to that inode (the number may have been
// reused by dup2 or exec): StillOurs checks with fstat before the shim acts on it.
// Thread-safe; constant-initialized, so it is usable from the shim's earliest constructor.
class FdTable {
 public:
  constexpr FdTable() = default;
  FdTable(const FdTable&) = delete;
  FdTable& operator=(const FdTable&) = delete;

  Kind KindOf(int fd) const {
    if (fd < 0 || fd >= kMaxTracked) return Kind::kNone;
    return static_cast<Kind>(fds_[fd].load(std::memory_order_relaxed) & 0xFF);
  }
  void Mark(int fd, Kind kind, ino_t ino);
  // Forgets `fd`; returns what it was.
  Kind Unmark(int fd);
  // `to` is a duplicate of `from` (dup, dup2, dup3): it is what `from` is.
  void CopyMark(int from, int to);
  // True when `fd` still refers to the inode it was marked with; its stat in *st when given.
  bool StillOurs(int fd, struct stat* st = nullptr) const;

 private:
  // Per fd: the kind in the low byte, the inode (its low 56 bits) above it; 0 == not ours.
  std::atomic<uint64_t> fds_[kMaxTracked] = {};
};

inline constexpr char kDevHeapDir[] = "/dev/dma_heap";

// "/dev/dma_heap" → true with *rest "", "/dev/dma_heap/x" (any number of slashes) → true with
// *rest "x"; anything else (NULL, "/dev/dma_heapX", relative paths) → false.
bool HeapPath(const char* path, std::string_view* rest);
// A single directory entry: not empty, no '/', not "." or "..".
bool IsHeapName(std::string_view name);
// Where /dev/dma_heap/<rest> lives: "<heap_dir>" or "<heap_dir>/<rest>".
std::string RedirectPath(std::string_view heap_dir, std::string_view rest);

// An ioctl the kernel answered ENOTTY on an fd the table does not know (dup'ed with fcntl,
// inherited across exec) may still be one of the shim's when its type is a heap's ('H'), a
// dma-buf's ('b') or DRM's ('d'): only then is the fd inspected.
bool MayBeOurIoctl(unsigned long request);

// lseek on a buffer, as a dma-buf answers (§12): SEEK_SET 0 → 0, SEEK_END 0 → the size,
// anything else EINVAL.
Result<off_t> BufferLseek(off_t offset, int whence, off_t size);

}  // namespace dmaheap::preload

#endif  // DMAHEAP_SRC_PRELOAD_FD_TABLE_H
