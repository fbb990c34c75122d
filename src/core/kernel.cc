#include "core/kernel.h"

#include <pthread.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <vector>

#include "base/check.h"
#include "board/board.h"
#include "dmabuf/bufinfo.h"
#include "dmaheap/uapi/linux/dma-heap.h"
#include "heap/builtin_heaps.h"
#include "heap/heap_ioctl.h"
#include "module/export.h"
#include "platform/sys.h"

namespace dmaheap {
namespace {

// Every live Kernel of this process: the fork handler must reach them all, and a buffer fd is
// resolved against them. Process-wide by nature (pthread_atfork has no context argument).
std::mutex g_kernels_mu;
std::vector<Kernel*> g_kernels;  // guarded by g_kernels_mu
std::once_flag g_atfork_once;

void ForkPrepare() { g_kernels_mu.lock(); }
void ForkParent() { g_kernels_mu.unlock(); }

// The argument lives in our own, trusted memory.
class KernelMemory final : public IoctlUserMemory {
 public:
  explicit KernelMemory(void* data) : data_(data) {}
  Result<void> CopyIn(void* dst, size_t len) override {
    std::memcpy(dst, data_, len);
    return {};
  }
  Result<void> CopyOut(const void* src, size_t len) override {
    std::memcpy(data_, src, len);
    return {};
  }

 private:
  void* data_;
};

}  // namespace

void KernelForkChild() {
  for (Kernel* k : g_kernels) {
    k->dead_.store(true);
    k->buffers_->AbandonAfterFork();
  }
  g_kernels_mu.unlock();
}

Kernel::Kernel(const KernelConfig& config) : config_(config) {}

Result<std::unique_ptr<Kernel>> Kernel::Boot(const KernelConfig& config) {
  if (config.ram_bytes == 0 || config.ram_bytes % sys::kPageSize != 0 ||
      config.ram_base % sys::kPageSize != 0) {
    return Errno(EINVAL);
  }
  std::call_once(g_atfork_once,
                 [] { ::pthread_atfork(ForkPrepare, ForkParent, KernelForkChild); });
  std::unique_ptr<Kernel> k(new Kernel(config));
  k->pages_ = TRY(PageAllocator::Create(config.ram_base >> sys::kPageShift,
                                        config.ram_bytes >> sys::kPageShift));
  k->reserved_ = TRY(ReservedMemory::Create(*k->pages_, config.reserved));
  k->buffers_ = TRY(BufferTable::Create(sys::ReadShmemThp()));
  k->context_ =
      std::make_unique<HeapContext>(HeapContext{*k->pages_, *k->buffers_, *k->reserved_});
  k->heaps_ = std::make_unique<HeapRegistry>(*k->context_);
  k->modules_ = std::make_unique<ModuleRegistry>(*k->heaps_, CoreExportTable());
#ifdef DMAHEAP_BUILTIN_SYSTEM_HEAP
  TRY(k->modules_->InitBuiltin("system_heap", system_heap_init));
#endif
  for (const std::string& name : config.modules) TRY(k->modules_->Modprobe(name));
  std::lock_guard lock(g_kernels_mu);
  g_kernels.push_back(k.get());
  return k;
}

Result<KernelConfig> Kernel::ConfigForBoard(const std::string& name_or_path,
                                            std::vector<std::string>* log_out) {
  Board board = TRY(LoadBoard(name_or_path));
  if (board.modules_load.empty()) {
    std::fprintf(stderr, "dmaheap: board %s: no modules.load beside it: no heap module loads\n",
                 board.source.c_str());
  }
  std::vector<std::string> log;
  KernelConfig config;
  config.ram_base = board.ram_base;
  config.ram_bytes = board.ram_bytes;
  config.reserved = TRY(PlaceReservedMemory(board, &log));
  config.modules = board.modules;
  if (log_out != nullptr) *log_out = std::move(log);
  return config;
}

Kernel::~Kernel() {
  {
    std::lock_guard lock(g_kernels_mu);
    g_kernels.erase(std::remove(g_kernels.begin(), g_kernels.end(), this), g_kernels.end());
  }
  if (dead_.load()) {
    // A forked child's copy: leave the parent's model alone (see BufferTable's destructor).
    (void)pages_.release();
    (void)reserved_.release();
    (void)heaps_.release();
    (void)context_.release();
    (void)modules_.release();
    return;
  }
  // Buffers still held elsewhere are forgotten: their memory stays valid (it is the memfd's), but
  // nothing accounts for it once the System is gone. Release them before the allocator goes.
  buffers_.reset();
  // Module heaps go before their modules are unmapped.
  heaps_.reset();
  modules_.reset();
}

Result<void> Kernel::CheckAlive() const {
  if (dead_.load(std::memory_order_relaxed)) return Errno(ENODEV);
  return {};
}

int Kernel::HeapIoctl(DmaHeap& heap, unsigned int cmd, void* arg) {
  if (dead_.load(std::memory_order_relaxed)) return ENODEV;
  SelfUserMemory user(arg);
  SelfFdInstaller installer;
  return DmaHeapIoctl(heap, cmd, user, installer);
}

Result<UniqueFd> Kernel::Allocate(DmaHeap& heap, uint64_t len, uint32_t fd_flags,
                                  uint64_t heap_flags) {
  TRY(CheckAlive());
  dma_heap_allocation_data data{len, 0, fd_flags, heap_flags};
  KernelMemory user(&data);
  SelfFdInstaller installer;
  int err = DmaHeapIoctl(heap, DMA_HEAP_IOCTL_ALLOC, user, installer);
  if (err != 0) return Errno(err);
  return UniqueFd(static_cast<int>(data.fd));
}

void Kernel::Drain() {
  if (dead_.load(std::memory_order_relaxed)) return;
  buffers_->ProcessReleases();
}

std::string Kernel::BufInfo() {
  Drain();
  std::vector<DmaBufRef> live = buffers_->Snapshot();
  std::vector<ino_t> inodes;
  inodes.reserve(live.size());
  for (const DmaBufRef& b : live) inodes.push_back(b->ino());
  const dev_t dev = live.empty() ? 0 : live.front()->dev();
  return FormatBufInfo(live, CountHolders(dev, inodes));
}

DmaBufRef Kernel::FindBuffer(int fd) {
  Result<struct stat> st = sys::Fstat(fd);
  if (!st.ok() || !S_ISREG(st->st_mode)) return nullptr;
  std::lock_guard lock(g_kernels_mu);
  for (Kernel* k : g_kernels) {
    if (k->dead_.load(std::memory_order_relaxed)) continue;
    if (DmaBufRef buf = k->buffers_->Lookup(st->st_dev, st->st_ino)) return buf;
  }
  return nullptr;
}

}  // namespace dmaheap
