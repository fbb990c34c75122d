// dmaheap::System: the embedded backend of the public API, a thin owner of one Kernel.

#include "base/check.h"
#include "core/kernel.h"
#include "dmaheap/dmaheap.h"

namespace dmaheap {

const std::string& HeapHandle::name() const { return heap_->name(); }

System::System(std::unique_ptr<Kernel> kernel) : kernel_(std::move(kernel)) {}

System::~System() = default;

Result<std::unique_ptr<System>> System::Boot(const BootOptions& options) {
  KernelConfig config;
  config.ram_base = options.ram_base;
  config.ram_bytes = options.ram_bytes;
  config.modules = options.modules;
  if (!options.board.empty()) config = TRY(Kernel::ConfigForBoard(options.board));
  std::unique_ptr<Kernel> kernel = TRY(Kernel::Boot(config));
  return std::unique_ptr<System>(new System(std::move(kernel)));
}

std::vector<std::string> System::HeapNames() const {
  std::vector<std::string> names;
  for (DmaHeap* heap : kernel_->heaps().List()) names.push_back(heap->name());
  return names;
}

Result<HeapHandle> System::FindHeap(std::string_view name) const {
  DmaHeap* heap = kernel_->heaps().Find(name);
  if (heap == nullptr) return Errno(ENOENT);
  return HeapHandle(heap);
}

Result<UniqueFd> System::Allocate(HeapHandle heap, uint64_t len, uint32_t fd_flags,
                                  uint64_t heap_flags) {
  return kernel_->Allocate(*heap.heap_, len, fd_flags, heap_flags);
}

Result<UniqueFd> System::Allocate(std::string_view heap, uint64_t len, uint32_t fd_flags,
                                  uint64_t heap_flags) {
  HeapHandle handle = TRY(FindHeap(heap));
  return Allocate(handle, len, fd_flags, heap_flags);
}

int System::HeapIoctl(HeapHandle heap, unsigned long cmd, void* arg) noexcept {
  // ioctl(2) takes the request as unsigned long; the kernel truncates it to 32 bits.
  return -kernel_->HeapIoctl(*heap.heap_, static_cast<unsigned int>(cmd), arg);
}

void System::Drain() { kernel_->Drain(); }

MemoryStats System::Stats() {
  kernel_->Drain();
  MemoryStats stats;
  PageAllocator& pages = kernel_->pages();
  stats.total_pages = pages.total_pages();
  stats.free_pages = pages.free_pages();
  stats.free_blocks = pages.FreeBlocks();
  for (DmaHeap* heap : kernel_->heaps().List()) {
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
  for (const CmaRegion& region : kernel_->reserved().cma()) {
    const CmaArea& a = *region.area;
    stats.cma.push_back(CmaAreaStats{a.name(), a.base_pfn(), a.count(), a.order_per_bit(),
                                     a.used(), a.maxchunk(), region.is_default});
  }
  return stats;
}

std::string System::BufInfo() { return kernel_->BufInfo(); }

Result<void> System::Insmod(const std::string& path) { return kernel_->modules().Insmod(path); }
Result<void> System::Rmmod(const std::string& name) { return kernel_->modules().Rmmod(name); }
Result<void> System::Modprobe(const std::string& name) {
  return kernel_->modules().Modprobe(name);
}
std::string System::Lsmod() { return kernel_->modules().ProcModules(); }
Result<std::string> System::Modinfo(const std::string& name_or_path) {
  return kernel_->modules().Modinfo(name_or_path);
}

Result<std::vector<std::pair<uint64_t, uint64_t>>> System::SgTable(int fd) {
  DmaBufRef buf = Kernel::FindBuffer(fd);
  if (buf == nullptr || &buf->heap()->context().buffers != &kernel_->buffers())
    return Errno(ENOENT);
  std::vector<std::pair<uint64_t, uint64_t>> out;
  for (const ScatterEntry& e : buf->ops().sg_table()) out.emplace_back(e.dma_address, e.length);
  return out;
}

}  // namespace dmaheap
