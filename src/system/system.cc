// dmaheap::System: the public face of one booted SystemCore (include/dmaheap/dmaheap.h).

#include "base/check.h"
#include "dmaheap/dmaheap.h"
#include "heap/heap_ioctl.h"
#include "platform/ioctl_arg.h"
#include "system/system_core.h"

namespace dmaheap {

const std::string& HeapHandle::name() const { return heap_->name(); }


Result<std::unique_ptr<System>> System::Boot(const BootOptions& options) {
  SystemConfig config;
  config.ram_base = options.ram_base;
  config.ram_bytes = options.ram_bytes;
  config.modules = options.modules;
  if (!options.board.empty()) config = TRY(SystemCore::ConfigForBoard(options.board));
  std::unique_ptr<SystemCore> core = TRY(SystemCore::Boot(config));
  return std::unique_ptr<System>(new System(std::move(core)));
}

std::vector<std::string> System::HeapNames() const {
  std::vector<std::string> names;
  for (DmaHeap* heap : core_->heaps().List()) names.push_back(heap->name());
  return names;
}

Result<HeapHandle> System::FindHeap(std::string_view name) const {
  DmaHeap* heap = core_->heaps().Find(name);
  if (heap == nullptr) return Errno(ENOENT);
  return HeapHandle(heap);
}

Result<UniqueFd> System::Allocate(HeapHandle heap, uint64_t len, uint32_t fd_flags,
                                  uint64_t heap_flags) {
  AllocRequest request;
  request.heap = heap.heap_;
  request.len = len;
  request.fd_flags = fd_flags;
  request.heap_flags = heap_flags;
  request.owner = core_->self();
  Allocation allocation = TRY(core_->Allocate(request));
  SelfFdInstaller installer;
  const int fd = TRY(installer.Install(std::move(allocation.fd), (fd_flags & O_CLOEXEC) != 0));
  return UniqueFd(fd);
}

Result<UniqueFd> System::Allocate(std::string_view heap, uint64_t len, uint32_t fd_flags,
                                  uint64_t heap_flags) {
  HeapHandle handle = TRY(FindHeap(heap));
  return Allocate(handle, len, fd_flags, heap_flags);
}

int System::HeapIoctl(HeapHandle heap, unsigned long cmd, void* arg) noexcept {
  if (!core_->CheckAlive().ok()) return -ENODEV;
  AllocRequest request;
  request.heap = heap.heap_;
  request.owner = core_->self();
  SelfIoctlArg user(arg);
  SelfFdInstaller installer;
  // ioctl(2) takes the request as unsigned long; the kernel truncates it to 32 bits.
  return -DmaHeapIoctl(static_cast<unsigned int>(cmd), request, user, installer);
}

void System::Drain() { core_->Drain(); }

MemoryStats System::Stats() {
  core_->Drain();
  MemoryStats stats;
  PageAllocator& pages = core_->pages();
  stats.total_pages = pages.total_pages();
  stats.free_pages = pages.free_pages();
  stats.free_blocks = pages.FreeBlocks();
  for (DmaHeap* heap : core_->heaps().List()) {
    const HeapCounters& c = heap->counters();
    HeapStats h;
    h.name = heap->name();
    h.live_buffers = c.live_buffers.load();
    h.live_bytes = c.live_bytes.load();
    h.peak_bytes = c.peak_bytes.load();
    h.allocations = c.allocations.load();
    h.failures = c.failures.load();
    h.contiguous = heap->properties().contiguous;
    h.cached = heap->properties().cached;
    h.max_size = heap->properties().max_size;
    stats.heaps.push_back(std::move(h));
  }
  for (const CmaRegion& region : core_->reserved().cma()) {
    const CmaArea& a = *region.area;
    stats.cma.push_back(CmaAreaStats{a.name(), a.base_pfn(), a.count(), a.order_per_bit(), a.used(),
                                     a.maxchunk(), region.is_default});
  }
  stats.devices = Devices();
  stats.swiotlb_slots = core_->swiotlb().total_slots();
  stats.swiotlb_used = core_->swiotlb().used_slots();
  return stats;
}

std::string System::BufInfo() { return core_->BufInfo(); }

Result<void> System::Insmod(const std::string& path) { return core_->modules().Insmod(path); }
// A module's reference count is its live buffers: releases already queued count first, so a
// close that has returned is seen (the same rule as allocations and stats).
Result<void> System::Rmmod(const std::string& name) {
  core_->Drain();
  return core_->modules().Rmmod(name);
}
Result<void> System::Modprobe(const std::string& name) { return core_->modules().Modprobe(name); }
std::string System::Lsmod() {
  core_->Drain();
  return core_->modules().ProcModules();
}
Result<std::string> System::Modinfo(const std::string& name_or_path) {
  return core_->modules().Modinfo(name_or_path);
}

Result<std::vector<std::pair<uint64_t, uint64_t>>> System::SgTable(int fd) {
  SystemCore* owner = nullptr;
  DmaBufRef buf = SystemCore::FindBuffer(fd, &owner);
  if (buf == nullptr || owner != core_.get()) return Errno(ENOENT);
  std::vector<std::pair<uint64_t, uint64_t>> out;
  for (const ScatterEntry& e : buf->ops().sg_table()) out.emplace_back(e.dma_address, e.length);
  return out;
}

}  // namespace dmaheap
