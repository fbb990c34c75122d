// SystemCore: the inside of one booted System (include/dmaheap/dmaheap.h) — its modelled memory,
// its heaps, its modules and its live buffers. The embedded API and the daemon each own one
// through a System; every allocation goes through the same typed core call
// (heap/alloc.h DmaHeapAllocate), and every heap ioctl through the same adapter.
//
// Fork: a child inherits a copy of every SystemCore of its parent. The copy is dead in the child
// (pthread_atfork): its inotify fd is closed so it cannot steal the parent's release events,
// and every call answers ENODEV. Buffer fds the child inherited stay usable; the parent's
// SystemCore keeps accounting for them.
#ifndef DMAHEAP_SRC_SYSTEM_SYSTEM_CORE_H
#define DMAHEAP_SRC_SYSTEM_SYSTEM_CORE_H

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "dma/dma_device.h"
#include "dma/swiotlb.h"
#include "dmabuf/buffer_table.h"
#include "dmaheap/result.h"
#include "heap/alloc.h"
#include "heap/dma_heap.h"
#include "mm/page_alloc.h"
#include "mm/reserved_mem.h"
#include "module/module.h"

namespace dmaheap {

struct SystemConfig {
  uint64_t ram_base = 0x40000000;  // modelled physical address of RAM
  uint64_t ram_bytes = uint64_t{4} << 30;
  // Modules loaded at boot (modprobe, in order), like a board's modules.load.
  std::vector<std::string> modules = {"system_heap"};
  // Regions taken out of RAM before the page allocator sees it, placed (src/board/ does that):
  // CMA areas and carveouts.
  std::vector<ReservedRegion> reserved;
  // Who commits O_RDWR buffers: this process (embedded), or the requesting one (the daemon).
  CommitPolicy commit = CommitPolicy::kHere;
  // Devices that import buffers (the board's), and the swiotlb pool (taken out of RAM like the
  // reserved regions; none by default).
  std::vector<DmaDeviceSpec> devices;
  SwiotlbConfig swiotlb;
};

class SystemCore {
 public:
  SystemCore(const SystemCore&) = delete;
  SystemCore& operator=(const SystemCore&) = delete;
  ~SystemCore();

  // Boots: modelled RAM, its reserved regions, the buffer table, the built-in heap modules, then
  // config.modules. EINVAL for RAM that is not page-aligned, empty, or beyond 16 TiB, or a
  // reserved region it cannot take; a module's error when one of the boot modules cannot be
  // loaded (the System does not boot half-way).
  static Result<std::unique_ptr<SystemCore>> Boot(const SystemConfig& config);

  // The configuration a board describes (src/board/: NAME on the board path, or a .dtb path):
  // its RAM, its reserved memory placed as the kernel places it, its modules.load. Errors
  // (ENOENT, EINVAL, ENOMEM) come with a message naming the board and what is wrong in it.
  // `log`, when given, receives the kernel's boot lines about the reserved memory ("Reserved
  // memory: created CMA memory pool at …"), for a daemon's log.
  static Result<SystemConfig> ConfigForBoard(const std::string& name_or_path,
                                             std::vector<std::string>* log = nullptr);

  PageAllocator& pages() { return *pages_; }
  ReservedMemory& reserved() { return *reserved_; }
  BufferTable& buffers() { return *buffers_; }
  const AllocFailureLog& failures() const { return failures_; }
  HeapRegistry& heaps() { return *heaps_; }
  ModuleRegistry& modules() { return *modules_; }
  const SystemConfig& config() const { return config_; }
  // The devices, in board order; FindDevice: by name, or null.
  const std::vector<std::unique_ptr<DmaDevice>>& devices() const { return devices_; }
  DmaDevice* FindDevice(std::string_view name) const;
  Swiotlb& swiotlb() { return *swiotlb_; }
  // The credentials of the process that booted this System: the owner of what the embedded API
  // allocates (a forked child's copy is dead, so they never name the wrong process).
  const Owner& self() const { return self_; }

  // ENODEV in a forked child (see the preamble).
  Result<void> CheckAlive() const;

  // The core call (DmaHeapAllocate) on this System. `request.heap` must be one of its heaps.
  Result<Allocation> Allocate(const AllocRequest& request);

  // Processes every release already queued; returns once they are done (the test barrier).
  void Drain();

  // /sys/kernel/debug/dma_buf/bufinfo, with holder counts from /proc.
  std::string BufInfo();

  // The live buffer behind `fd` in any SystemCore of this process, or null (not a dmaheap
  // buffer, or its System is gone). `owner`, when given, receives the System it belongs to.
  static DmaBufRef FindBuffer(int fd, SystemCore** owner = nullptr);

 private:
  explicit SystemCore(const SystemConfig& config);

  const SystemConfig config_;
  const Owner self_;
  std::unique_ptr<PageAllocator> pages_;
  std::unique_ptr<ReservedMemory> reserved_;
  // Before buffers_: attachments of live buffers point at devices, devices at the pool.
  std::unique_ptr<Swiotlb> swiotlb_;
  std::vector<std::unique_ptr<DmaDevice>> devices_;
  std::unique_ptr<BufferTable> buffers_;
  AllocFailureLog failures_;  // before context_, which points at it
  std::unique_ptr<HeapContext> context_;
  std::unique_ptr<HeapRegistry> heaps_;
  std::unique_ptr<ModuleRegistry> modules_;  // after heaps_: its modules own heap ops
  std::atomic<bool> dead_{false};            // true in a forked child

  friend void SystemCoreForkChild();
};

}  // namespace dmaheap

#endif  // DMAHEAP_SRC_SYSTEM_SYSTEM_CORE_H
