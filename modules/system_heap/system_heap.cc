// The system heap (drivers/dma-buf/heaps/system_heap.c): buffers gathered from the buddy
// allocator in the largest blocks available, one sg entry per block, zeroed.
//
// Zeroing is a property of the backing: every buffer is a new memfd, which shmem zero-fills at
// first touch (or at commit), so memory recycled from a freed buffer always reads as zero.

#include <sys/mman.h>

#include <memory>
#include <vector>

#include "base/check.h"
#include "dmabuf/dma_buf.h"
#include "heap/builtin_heaps.h"
#include "heap/dma_heap.h"
#include "mm/page_alloc.h"
#include "platform/sys.h"

namespace dmaheap {
namespace {

// 1 MiB, 64 KiB and 4 KiB blocks: the sizes often found in IOMMUs, so a device mapping can use
// large IOMMU pages and less TLB; orders above 8 would only make allocation slower under
// fragmentation.
constexpr unsigned kOrders[] = {8, 4, 0};
constexpr size_t kNumOrders = sizeof(kOrders) / sizeof(kOrders[0]);

// The private buffer: the blocks it holds and the sg table built from them. Destroying it is the
// release: every block goes back to the buddy allocator.
class SystemHeapBuffer final : public DmaBufOps {
 public:
  explicit SystemHeapBuffer(PageAllocator& pages) : pages_(pages) {}
  // The sg table is the only record of the blocks: entry i is block (address >> 12, log2 of
  // its length in pages).
  ~SystemHeapBuffer() override {
    for (const ScatterEntry& e : table_) {
      const auto order = static_cast<unsigned>(__builtin_ctzll(e.length >> sys::kPageShift));
      pages_.FreePages(e.dma_address >> sys::kPageShift, order);
    }
  }

  void Add(PageBlock block) {
    table_.push_back(ScatterEntry{block.pfn << sys::kPageShift,
                                  uint64_t{sys::kPageSize} << block.order});
  }

  // Begin/end CPU access: the system heap syncs only attachments a device has mapped (the 5.11
  // rule); with no device attached both are no-ops, as on the kernel, so the defaults apply.

  // The pages are remapped into a shared vma only; a private (copy-on-write) mapping of a
  // dma-buf is refused with EINVAL as the kernel refuses it.
  Result<void> Mmap(const VmaRequest& vma) override {
    if ((vma.flags & MAP_TYPE) == MAP_PRIVATE) return Errno(EINVAL);
    return {};
  }

  const SgTable& sg_table() const override { return table_; }

 private:
  PageAllocator& pages_;
  SgTable table_;
};

// The first order that fits in `remaining` and is not above the last order that succeeded
// (max_order only ratchets down, so a fragmented allocator is not probed for large blocks
// again and again).
Result<PageBlock> AllocLargestAvailable(PageAllocator& pages, uint64_t remaining,
                                        size_t& max_index) {
  for (size_t i = max_index; i < kNumOrders; ++i) {
    if (remaining < (uint64_t{sys::kPageSize} << kOrders[i])) continue;
    Result<uint64_t> pfn = pages.AllocPages(kOrders[i]);
    if (!pfn.ok()) continue;
    max_index = i;
    return PageBlock{*pfn, kOrders[i]};
  }
  return Errno(ENOMEM);
}

class SystemHeapOps final : public DmaHeapOps {
 public:
  Result<DmaBufRef> Allocate(DmaHeap& heap, uint64_t len, uint32_t fd_flags,
                             uint64_t /*heap_flags*/) const override {
    PageAllocator& pages = heap.context().pages;
    // The kernel has no size check here and allocates until the OOM killer runs (§12). A
    // request larger than the free modelled memory fails before any host memory is touched.
    if (len / sys::kPageSize > pages.free_pages()) return Errno(ENOMEM);

    auto buffer = std::make_unique<SystemHeapBuffer>(pages);
    size_t max_index = 0;
    for (uint64_t remaining = len; remaining > 0;) {
      // On failure `buffer` returns the blocks it already holds.
      PageBlock block = TRY(AllocLargestAvailable(pages, remaining, max_index));
      buffer->Add(block);
      remaining -= uint64_t{sys::kPageSize} << block.order;
    }
    return heap.Export(std::move(buffer), len, fd_flags);
  }
};

}  // namespace

Result<void> SystemHeapCreate(HeapRegistry& registry) {
  static const SystemHeapOps kOps;
  DmaHeapExportInfo info;
  info.name = "system";
  info.ops = &kOps;
  info.properties = HeapProperties{/*contiguous=*/false, /*cached=*/true,
                                   /*zeroed_on_alloc=*/true, /*max_size=*/0};
  TRY(registry.Add(info));
  return {};
}

}  // namespace dmaheap
