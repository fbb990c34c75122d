// For the heap layer's own tests: a System's worth of memory (a page allocator, a buffer table,
// no reserved memory) and a registry with one heap that takes order-0 pages per buffer page —
// enough to run the core's allocation rules without modules or a booted System.
#ifndef DMAHEAP_SRC_HEAP_TEST_HEAP_H
#define DMAHEAP_SRC_HEAP_TEST_HEAP_H

#include <memory>
#include <string>
#include <vector>

#include "base/check.h"
#include "dmabuf/buffer_table.h"
#include "heap/dma_heap.h"
#include "mm/page_alloc.h"
#include "mm/reserved_mem.h"

namespace dmaheap::testing_util {

// A buffer of PageHeapOps: its pages, given back at release.
class PageBuffer final : public DmaBufOps {
 public:
  explicit PageBuffer(PageAllocator& pages) : pages_(pages) {}
  ~PageBuffer() override {
    for (const ScatterEntry& e : table_) pages_.FreePages(e.dma_address >> 12, 0);
  }
  Result<void> Take(uint64_t count) {
    for (uint64_t i = 0; i < count; ++i) {
      const uint64_t pfn = TRY(pages_.AllocPages(0));
      table_.push_back({pfn << 12, 4096});
    }
    return {};
  }
  std::span<const ScatterEntry> sg_table() const override { return table_; }
  Result<void> Mmap(const VmaRequest& /*vma*/) override { return {}; }

 private:
  PageAllocator& pages_;
  SgTable table_;
};

class PageHeapOps final : public DmaHeapOps {
 public:
  Result<DmaBufRef> Allocate(DmaHeap& heap, uint64_t len, uint32_t fd_flags,
                             uint64_t /*heap_flags*/) const override {
    PageAllocator& pages = heap.context().pages;
    if (len / 4096 > pages.free_pages()) return Errno(ENOMEM);
    auto buffer = std::make_unique<PageBuffer>(pages);
    TRY(buffer->Take(len / 4096));
    return heap.Export(std::move(buffer), len, fd_flags);
  }
};

class HeapHarness {
 public:
  explicit HeapHarness(uint64_t pages = 1024)
      : pages_(std::move(PageAllocator::Create(0x40000, pages)).value()),
        buffers_(
            std::move(BufferTable::Create(sys::ShmemThp::kHugeNever, CommitPolicy::kHere)).value()),
        reserved_(ReservedMemory::Empty()),
        context_{*pages_, *buffers_, *reserved_},
        registry_(context_) {
    DmaHeapExportInfo info;
    info.name = "test";
    info.ops = &ops_;
    heap_ = std::move(registry_.Add(info)).value();
  }

  // As a System goes: its buffers (whose release reaches their heap) before its heaps.
  ~HeapHarness() { buffers_.reset(); }

  DmaHeap& heap() { return *heap_; }
  HeapRegistry& registry() { return registry_; }
  PageAllocator& pages() { return *pages_; }
  BufferTable& buffers() { return *buffers_; }

 private:
  PageHeapOps ops_;
  std::unique_ptr<PageAllocator> pages_;
  std::unique_ptr<BufferTable> buffers_;
  std::unique_ptr<ReservedMemory> reserved_;
  HeapContext context_;
  HeapRegistry registry_;
  DmaHeap* heap_ = nullptr;
};

}  // namespace dmaheap::testing_util

#endif  // DMAHEAP_SRC_HEAP_TEST_HEAP_H
