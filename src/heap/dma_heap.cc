#include "heap/dma_heap.h"

#include <algorithm>
#include <cstdio>

#include "base/check.h"
#include "dmabuf/buffer_table.h"

namespace dmaheap {

DmaHeap::DmaHeap(const DmaHeapExportInfo& info, HeapContext& context, unsigned minor)
    : name_(info.name),
      ops_(info.ops),
      priv_(info.priv),
      properties_(info.properties),
      context_(context),
      minor_(minor),
      owner_(info.owner) {}

Result<DmaBufRef> DmaHeap::Export(std::unique_ptr<DmaBufOps> ops, uint64_t size,
                                  uint32_t fd_flags) {
  return context_.buffers.Export(DmaBufExportInfo{this, size, fd_flags, std::move(ops)});
}

void DmaHeap::BufferExported(uint64_t size) {
  if (owner_ != nullptr) owner_->refs.fetch_add(1);
  counters_.live_buffers.fetch_add(1, std::memory_order_relaxed);
  const uint64_t live = counters_.live_bytes.fetch_add(size, std::memory_order_relaxed) + size;
  uint64_t peak = counters_.peak_bytes.load(std::memory_order_relaxed);
  while (live > peak && !counters_.peak_bytes.compare_exchange_weak(peak, live)) {
  }
}

void DmaHeap::BufferReleased(uint64_t size) {
  counters_.live_buffers.fetch_sub(1, std::memory_order_relaxed);
  counters_.live_bytes.fetch_sub(size, std::memory_order_relaxed);
  if (owner_ != nullptr) owner_->refs.fetch_sub(1);
}

Result<DmaHeap*> HeapRegistry::Add(const DmaHeapExportInfo& info) {
  if (info.name.empty()) {
    std::fprintf(stderr, "dma_heap: Cannot add heap without a name\n");
    return Errno(EINVAL);
  }
  if (info.ops == nullptr) {
    std::fprintf(stderr, "dma_heap: Cannot add heap with invalid ops struct\n");
    return Errno(EINVAL);
  }
  std::lock_guard lock(mu_);
  if (heaps_.size() >= kMaxHeaps) {
    std::fprintf(stderr, "dma_heap: Unable to get minor number for heap\n");
    return Errno(EBUSY);
  }
  for (const auto& heap : heaps_) {
    if (heap->name() == info.name) {
      std::fprintf(stderr, "dma_heap: Already registered heap named %s\n", info.name.c_str());
      return Errno(EEXIST);
    }
  }
  // Minors are handed out lowest-free first.
  unsigned minor = 0;
  while (std::any_of(heaps_.begin(), heaps_.end(),
                     [&](const auto& heap) { return heap->minor() == minor; })) {
    ++minor;
  }
  heaps_.push_back(std::unique_ptr<DmaHeap>(new DmaHeap(info, context_, minor)));
  return heaps_.back().get();
}

void HeapRegistry::Remove(DmaHeap* heap) {
  std::lock_guard lock(mu_);
  for (auto it = heaps_.begin(); it != heaps_.end(); ++it) {
    if (it->get() == heap) {
      heaps_.erase(it);
      return;
    }
  }
}

DmaHeap* HeapRegistry::Find(std::string_view name) const {
  std::lock_guard lock(mu_);
  for (const auto& heap : heaps_) {
    if (heap->name() == name) return heap.get();
  }
  return nullptr;
}

std::vector<DmaHeap*> HeapRegistry::List() const {
  std::lock_guard lock(mu_);
  std::vector<DmaHeap*> out;
  out.reserve(heaps_.size());
  for (const auto& heap : heaps_) out.push_back(heap.get());
  return out;
}

}  // namespace dmaheap
