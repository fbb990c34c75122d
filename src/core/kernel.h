// Kernel: one booted dmaheap System — its modelled memory, its heaps and its live buffers.
// The embedded API, and later the daemon, each own one; every path into it goes through the
// same DmaHeapIoctl.
//
// Fork: a child inherits a copy of every Kernel of its parent. The copy is dead in the child
// (pthread_atfork): its inotify fd is closed so it cannot steal the parent's release events,
// and every call answers ENODEV. Buffer fds the child inherited stay usable; the parent's
// Kernel keeps accounting for them.
#ifndef DMAHEAP_SRC_CORE_KERNEL_H
#define DMAHEAP_SRC_CORE_KERNEL_H

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "dmabuf/buffer_table.h"
#include "dmaheap/result.h"
#include "heap/dma_heap.h"
#include "mm/page_alloc.h"
#include "mm/reserved_mem.h"
#include "module/module.h"

namespace dmaheap {

struct KernelConfig {
  uint64_t ram_base = 0x40000000;  // modelled physical address of RAM
  uint64_t ram_bytes = uint64_t{4} << 30;
  // Modules loaded at boot (modprobe, in order), like a board's modules.load.
  std::vector<std::string> modules = {"system_heap"};
  // Regions taken out of RAM before the page allocator sees it, placed (src/board/ does that):
  // CMA areas and carveouts.
  std::vector<ReservedRegion> reserved;
};

class Kernel {
 public:
  Kernel(const Kernel&) = delete;
  Kernel& operator=(const Kernel&) = delete;
  ~Kernel();

  // Boots: modelled RAM, its reserved regions, the buffer table, the built-in heap modules, then config.modules.
  // EINVAL for RAM that is not page-aligned, empty, or beyond 16 TiB, or a reserved region it
  // cannot take; a module's error when one
  // of the boot modules cannot be loaded (the System does not boot half-way).
  static Result<std::unique_ptr<Kernel>> Boot(const KernelConfig& config);

  // The configuration a board describes (src/board/: NAME on the board path, or a .dtb path):
  // its RAM, its reserved memory placed as the kernel places it, its modules.load. Errors
  // (ENOENT, EINVAL, ENOMEM) come with a message naming the board and what is wrong in it.
  // `log`, when given, receives the kernel's boot lines about the reserved memory ("Reserved
  // memory: created CMA memory pool at …"), for a daemon's log.
  static Result<KernelConfig> ConfigForBoard(const std::string& name_or_path,
                                             std::vector<std::string>* log = nullptr);

  PageAllocator& pages() { return *pages_; }
  ReservedMemory& reserved() { return *reserved_; }
  BufferTable& buffers() { return *buffers_; }
  HeapRegistry& heaps() { return *heaps_; }
  ModuleRegistry& modules() { return *modules_; }
  const KernelConfig& config() const { return config_; }

  // ENODEV in a forked child (see the preamble).
  Result<void> CheckAlive() const;

  // The heap ioctl on a caller-supplied argument in this process (EFAULT for a bad pointer);
  // the fd is installed here. Returns 0 or a positive errno.
  int HeapIoctl(DmaHeap& heap, unsigned int cmd, void* arg);

  // ALLOC with a trusted argument.
  Result<UniqueFd> Allocate(DmaHeap& heap, uint64_t len, uint32_t fd_flags, uint64_t heap_flags);

  // Processes every release already queued; returns once they are done (the test barrier).
  void Drain();

  // /sys/kernel/debug/dma_buf/bufinfo, with holder counts from /proc.
  std::string BufInfo();

  // The live buffer behind `fd` in any Kernel of this process, or null (not a dmaheap buffer,
  // or its Kernel is gone).
  static DmaBufRef FindBuffer(int fd);

 private:
  explicit Kernel(const KernelConfig& config);

  const KernelConfig config_;
  std::unique_ptr<PageAllocator> pages_;
  std::unique_ptr<ReservedMemory> reserved_;
  std::unique_ptr<BufferTable> buffers_;
  std::unique_ptr<HeapContext> context_;
  std::unique_ptr<HeapRegistry> heaps_;
  std::unique_ptr<ModuleRegistry> modules_;  // after heaps_: its modules own heap ops
  std::atomic<bool> dead_{false};  // true in a forked child

  friend void KernelForkChild();
};

}  // namespace dmaheap

#endif  // DMAHEAP_SRC_CORE_KERNEL_H
