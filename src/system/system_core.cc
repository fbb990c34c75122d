#include "system/system_core.h"

#include <pthread.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <vector>

#include "base/check.h"
#include "board/board.h"
#include "dmabuf/bufinfo.h"
#include "kapi/ksymtab.h"
#include "platform/sys.h"
#include "system/builtin_heaps.h"

namespace dmaheap {
namespace {

// Every live SystemCore of this process: the fork handler must reach them all, and a buffer fd is
// resolved against them. Process-wide by nature (pthread_atfork has no context argument).
std::mutex g_systems_mu;
std::vector<SystemCore*> g_systems;  // guarded by g_systems_mu
std::once_flag g_atfork_once;

void ForkPrepare() { g_systems_mu.lock(); }
void ForkParent() { g_systems_mu.unlock(); }

}  // namespace

void SystemCoreForkChild() {
  for (SystemCore* core : g_systems) {
    core->dead_.store(true);
    core->buffers_->AbandonAfterFork();
  }
  g_systems_mu.unlock();
}

SystemCore::SystemCore(const SystemConfig& config)
    : config_(config), self_{::getpid(), ::getuid(), ::getgid()} {}

Result<std::unique_ptr<SystemCore>> SystemCore::Boot(const SystemConfig& config) {
  if (config.ram_bytes == 0 || config.ram_bytes % sys::kPageSize != 0 ||
      config.ram_base % sys::kPageSize != 0) {
    return Errno(EINVAL);
  }
  std::call_once(g_atfork_once,
                 [] { ::pthread_atfork(ForkPrepare, ForkParent, SystemCoreForkChild); });
  std::unique_ptr<SystemCore> core(new SystemCore(config));
  core->pages_ = TRY(PageAllocator::Create(config.ram_base >> sys::kPageShift,
                                        config.ram_bytes >> sys::kPageShift));
  core->reserved_ = TRY(ReservedMemory::Create(*core->pages_, config.reserved));
  if (config.swiotlb.bytes != 0) {
    const SwiotlbConfig& pool = config.swiotlb;
    if (pool.base % sys::kPageSize != 0 || pool.bytes % sys::kPageSize != 0) return Errno(EINVAL);
    TRY(core->pages_->Reserve(pool.base >> sys::kPageShift, pool.bytes >> sys::kPageShift));
  }
  core->swiotlb_ = std::make_unique<Swiotlb>(config.swiotlb);
  for (const DmaDeviceSpec& spec : config.devices) {
    if (spec.name.empty() || core->FindDevice(spec.name) != nullptr) return Errno(EINVAL);
    core->devices_.push_back(std::make_unique<DmaDevice>(spec, core->swiotlb_.get()));
  }
  core->buffers_ = TRY(BufferTable::Create(sys::ReadShmemThp(), config.commit));
  core->context_ = std::make_unique<HeapContext>(
      HeapContext{*core->pages_, *core->buffers_, *core->reserved_, &core->failures_});
  core->heaps_ = std::make_unique<HeapRegistry>(*core->context_);
  core->modules_ = std::make_unique<ModuleRegistry>(*core->heaps_, CoreExportTable());
#ifdef DMAHEAP_BUILTIN_SYSTEM_HEAP
  TRY(core->modules_->InitBuiltin("system_heap", system_heap_init));
#endif
  for (const std::string& name : config.modules) TRY(core->modules_->Modprobe(name));
  std::lock_guard lock(g_systems_mu);
  g_systems.push_back(core.get());
  return core;
}

Result<SystemConfig> SystemCore::ConfigForBoard(const std::string& name_or_path,
                                            std::vector<std::string>* log_out) {
  Board board = TRY(LoadBoard(name_or_path));
  if (board.modules_load.empty()) {
    std::fprintf(stderr, "dmaheap: board %s: no modules.load beside it: no heap module loads\n",
                 board.source.c_str());
  }
  std::vector<std::string> log;
  SystemConfig config;
  config.ram_base = board.ram_base;
  config.ram_bytes = board.ram_bytes;
  config.reserved = TRY(PlaceReservedMemory(board, &log));
  config.swiotlb = TRY(PlaceSwiotlb(board, config.reserved, &log));
  for (const BoardDevice& device : board.devices) config.devices.push_back(DmaSpecOf(device));
  config.modules = board.modules;
  if (log_out != nullptr) *log_out = std::move(log);
  return config;
}

SystemCore::~SystemCore() {
  {
    std::lock_guard lock(g_systems_mu);
    g_systems.erase(std::remove(g_systems.begin(), g_systems.end(), this), g_systems.end());
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

DmaDevice* SystemCore::FindDevice(std::string_view name) const {
  for (const auto& device : devices_) {
    if (device->name() == name) return device.get();
  }
  return nullptr;
}

Result<void> SystemCore::CheckAlive() const {
  if (dead_.load(std::memory_order_relaxed)) return Errno(ENODEV);
  return {};
}

Result<Allocation> SystemCore::Allocate(const AllocRequest& request) {
  TRY(CheckAlive());
  DMAHEAP_DCHECK(&request.heap->context().buffers == buffers_.get());
  return DmaHeapAllocate(request);
}

void SystemCore::Drain() {
  if (dead_.load(std::memory_order_relaxed)) return;
  buffers_->ProcessReleases();
}

std::string SystemCore::BufInfo() {
  Drain();
  std::vector<DmaBufRef> live = buffers_->Snapshot();
  std::vector<ino_t> inodes;
  inodes.reserve(live.size());
  for (const DmaBufRef& b : live) inodes.push_back(b->ino());
  const dev_t dev = live.empty() ? 0 : live.front()->dev();
  return FormatBufInfo(live, CountHolders(dev, inodes));
}

DmaBufRef SystemCore::FindBuffer(int fd, SystemCore** owner) {
  Result<struct stat> st = sys::Fstat(fd);
  if (!st.ok() || !S_ISREG(st->st_mode)) return nullptr;
  std::lock_guard lock(g_systems_mu);
  for (SystemCore* core : g_systems) {
    if (core->dead_.load(std::memory_order_relaxed)) continue;
    if (DmaBufRef buf = core->buffers_->Lookup(st->st_dev, st->st_ino)) {
      if (owner != nullptr) *owner = core;
      return buf;
    }
  }
  return nullptr;
}

}  // namespace dmaheap
