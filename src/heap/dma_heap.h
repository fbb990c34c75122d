// DmaHeap and HeapRegistry: registered heaps (struct dma_heap) and dma_heap_add's rules
// (drivers/dma-buf/dma-heap.c).
//
// A heap provides one operation, Allocate (struct dma_heap_ops); everything a buffer does
// afterwards lives in the DmaBufOps object it exports (dmabuf/dma_buf.h). These two are the one
// description of a heap: a module's C tables (include/dmaheap/kapi.h) mirror them entry for
// entry. The core validates and page-aligns every request before Allocate runs
// (DmaHeapAllocate, heap/alloc.h), so heaps may assume: len is a non-zero multiple of 4096,
// fd_flags ⊆ O_CLOEXEC|O_ACCMODE, heap_flags == 0, and releases already queued were processed.
//
// A DmaHeap is its buffers' exporter (DmaBufExporter): exp_name is the heap's name, and every
// live buffer holds a reference on the module providing it and counts in the heap's counters.
#ifndef DMAHEAP_SRC_HEAP_DMA_HEAP_H
#define DMAHEAP_SRC_HEAP_DMA_HEAP_H

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "dmabuf/dma_buf.h"
#include "heap/alloc_failures.h"
#include "dmaheap/result.h"

namespace dmaheap {

class PageAllocator;
class BufferTable;
class ReservedMemory;
class DmaHeap;

// Capabilities are data, read by selection code; no code branches on a heap's name (R14).
struct HeapProperties {
  bool contiguous = false;      // every buffer is one physically contiguous range (one sg entry)
  bool cached = true;           // CPU mappings are cached (needs begin/end CPU access around DMA)
  bool zeroed_on_alloc = true;  // new buffers read as zero
  uint64_t max_size = 0;        // largest single buffer in bytes; 0 == bounded only by memory
};

// What a heap reaches of the System it is registered in (R13: passed in, never a global).
struct HeapContext {
  PageAllocator& pages;
  BufferTable& buffers;
  ReservedMemory& reserved;  // the board's reserved regions and CMA areas
  AllocFailureLog* failures = nullptr;  // the last allocation failures; none kept when null
};

// struct dma_heap_ops.
class DmaHeapOps {
 public:
  virtual ~DmaHeapOps() = default;
  // allocate. Called by DmaHeapAllocate for each validated request, with no core lock held; may
  // run on several threads at once. Required. Returns the buffer exported with DmaHeap::Export
  // (not yet installed: the core installs it). Errors: ENOMEM when the heap's memory cannot hold
  // `len`; nothing is leaked on failure.
  virtual Result<DmaBufRef> Allocate(DmaHeap& heap, uint64_t len, uint32_t fd_flags,
                                     uint64_t heap_flags) const = 0;
};

// The module a heap belongs to (the kernel's exp_info.owner): every live buffer of the heap
// holds a reference, so the module cannot be unloaded under it.
struct HeapOwner {
  std::atomic<long> refs{0};
};

// struct dma_heap_export_info.
struct DmaHeapExportInfo {
  std::string name;
  const DmaHeapOps* ops = nullptr;  // required; must outlive the heap
  void* priv = nullptr;             // the heap's own data (dma_heap_get_drvdata)
  HeapProperties properties;
  HeapOwner* owner = nullptr;       // the module providing the heap; null for built-in heaps
};

// Counters of one heap, exported through stats (R25).
struct HeapCounters {
  std::atomic<uint64_t> allocations{0};
  std::atomic<uint64_t> failures{0};
  std::atomic<uint64_t> live_buffers{0};
  std::atomic<uint64_t> live_bytes{0};
  std::atomic<uint64_t> peak_bytes{0};
};

class DmaHeap final : public DmaBufExporter {
 public:
  DmaHeap(const DmaHeap&) = delete;
  DmaHeap& operator=(const DmaHeap&) = delete;

  const std::string& name() const { return name_; }
  void* priv() const { return priv_; }
  const DmaHeapOps& ops() const { return *ops_; }
  const HeapProperties& properties() const { return properties_; }
  HeapContext& context() const { return context_; }
  unsigned minor() const { return minor_; }
  HeapOwner* owner() const { return owner_; }
  HeapCounters& counters() { return counters_; }
  const HeapCounters& counters() const { return counters_; }

  // dma_buf_export for this heap's buffers: creates the backing memfd (see BufferTable::Export).
  Result<DmaBufRef> Export(std::unique_ptr<DmaBufOps> ops, uint64_t size, uint32_t fd_flags);

  // DmaBufExporter.
  const std::string& exp_name() const override { return name_; }
  void BufferExported(uint64_t size) override;
  void BufferReleased(uint64_t size) override;

 private:
  friend class HeapRegistry;
  DmaHeap(const DmaHeapExportInfo& info, HeapContext& context, unsigned minor);

  const std::string name_;
  const DmaHeapOps* const ops_;
  void* const priv_;
  const HeapProperties properties_;
  HeapContext& context_;
  const unsigned minor_;
  HeapOwner* const owner_;
  HeapCounters counters_;
};

// The heap list of one System. Built-in heaps are never removed (the kernel has no
// dma_heap_remove); a module's heaps go when the module is unloaded with no live buffer.
class HeapRegistry {
 public:
  static constexpr unsigned kMaxHeaps = 128;  // NUM_HEAP_MINORS

  explicit HeapRegistry(HeapContext& context) : context_(context) {}
  HeapRegistry(const HeapRegistry&) = delete;
  HeapRegistry& operator=(const HeapRegistry&) = delete;

  // dma_heap_add. Errors, checked in the kernel's order: empty name → EINVAL ("Cannot add heap
  // without a name"); no ops → EINVAL ("Cannot add heap with invalid ops struct"); 128 heaps
  // already → EBUSY ("Unable to get minor number"); a name already registered → EEXIST (what
  // Linux ≥ 6.2 returns in practice: device_create fails on the duplicate sysfs name).
  Result<DmaHeap*> Add(const DmaHeapExportInfo& info);

  // Takes a heap out (its module is being unloaded; it has no live buffer). Its minor is free
  // again; the DmaHeap object is destroyed.
  void Remove(DmaHeap* heap);

  DmaHeap* Find(std::string_view name) const;
  // In registration order.
  std::vector<DmaHeap*> List() const;

  HeapContext& context() const { return context_; }

 private:
  HeapContext& context_;
  mutable std::mutex mu_;
  std::vector<std::unique_ptr<DmaHeap>> heaps_;  // guarded by mu_
};

}  // namespace dmaheap

#endif  // DMAHEAP_SRC_HEAP_DMA_HEAP_H
