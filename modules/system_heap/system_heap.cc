// The system heap (drivers/dma-buf/heaps/system_heap.c) as a permanent module, as the 2019 RFC
// made it: buffers gathered from the buddy allocator in the largest blocks available, one sg
// entry per block, zeroed (every buffer is a new memfd, which shmem zero-fills).
//
// Built as system_heap.so by default, or into the core (DMAHEAP_SYSTEM_HEAP=y, like Kconfig
// `y`), when DMAHEAP_BUILTIN is defined and the core calls system_heap_init itself.

#include <errno.h>
#include <sys/mman.h>

#include <memory>
#include <vector>

#include "dmaheap/kapi.h"
#include "dmaheap/module.h"

namespace {

// 1 MiB, 64 KiB and 4 KiB blocks: the sizes often found in IOMMUs, so a device mapping can use
// large IOMMU pages and less TLB; orders above 8 would only make allocation slower under
// fragmentation.
constexpr unsigned kOrders[] = {8, 4, 0};
constexpr size_t kNumOrders = sizeof(kOrders) / sizeof(kOrders[0]);
constexpr uint64_t kPageSize = 4096;

// The private buffer: its sg table is the record of its blocks (address >> 12, log2 pages).
struct SystemHeapBuffer {
  dma_heap* heap;
  std::vector<dma_buf_sg_entry> table;
};

void SystemHeapRelease(void* priv) {
  std::unique_ptr<SystemHeapBuffer> b(static_cast<SystemHeapBuffer*>(priv));
  for (const dma_buf_sg_entry& e : b->table) {
    __free_pages(b->heap, e.dma_address / kPageSize,
                 static_cast<unsigned>(__builtin_ctzll(e.length / kPageSize)));
  }
}

// The pages are remapped into a shared vma only; a private (copy-on-write) mapping of a dma-buf
// is refused with EINVAL as the kernel refuses it. Begin/end CPU access sync only attachments a
// device has mapped (the 5.11 rule); with no device both are no-ops, so the ops stay empty.
int SystemHeapMmap(void* /*priv*/, uint64_t /*off*/, uint64_t /*len*/, int /*prot*/, int flags) {
  return (flags & MAP_TYPE) == MAP_PRIVATE ? -EINVAL : 0;
}

const dma_buf_sg_entry* SystemHeapSgTable(void* priv, size_t* count) {
  auto* b = static_cast<SystemHeapBuffer*>(priv);
  *count = b->table.size();
  return b->table.data();
}

const dma_buf_ops kSystemHeapBufOps = {
    .release = SystemHeapRelease, .mmap = SystemHeapMmap, .sg_table = SystemHeapSgTable};

// The first order that fits in `remaining` and is not above the last order that succeeded
// (max_order only ratchets down, so a fragmented allocator is not probed for large blocks again
// and again). -ENOMEM when no order can be had.
int AllocLargestAvailable(dma_heap* heap, uint64_t remaining, size_t& max_index,
                          dma_buf_sg_entry* out) {
  for (size_t i = max_index; i < kNumOrders; ++i) {
    if (remaining < (kPageSize << kOrders[i])) continue;
    uint64_t pfn;
    if (alloc_pages(heap, kOrders[i], &pfn) != 0) continue;
    max_index = i;
    *out = dma_buf_sg_entry{pfn * kPageSize, kPageSize << kOrders[i]};
    return 0;
  }
  return -ENOMEM;
}

int SystemHeapAllocate(dma_heap* heap, uint64_t len, uint32_t fd_flags, uint64_t /*heap_flags*/,
                       dma_buf** out) {
  // The kernel has no size check here and allocates until the OOM killer runs (§12). A request
  // larger than the free modelled memory fails before any host memory is touched.
  if (len / kPageSize > nr_free_pages(heap)) return -ENOMEM;
  auto buffer = std::make_unique<SystemHeapBuffer>();
  buffer->heap = heap;
  size_t max_index = 0;
  for (uint64_t remaining = len; remaining > 0;) {
    dma_buf_sg_entry block;
    if (AllocLargestAvailable(heap, remaining, max_index, &block) != 0) {
      SystemHeapRelease(buffer.release());  // returns the blocks it already holds
      return -ENOMEM;
    }
    buffer->table.push_back(block);
    remaining -= block.length;
  }
  const dma_buf_export_info info = {&kSystemHeapBufOps, len, fd_flags, buffer.get()};
  const int rc = dma_buf_export(heap, &info, out);
  if (rc != 0) {
    SystemHeapRelease(buffer.release());
    return rc;
  }
  (void)buffer.release();  // owned by the dma-buf now; freed by SystemHeapRelease
  return 0;
}

const dma_heap_ops kSystemHeapOps = {SystemHeapAllocate};

}  // namespace

DMAHEAP_MODULE_ENTRY int system_heap_init(dmaheap_module* module) {
  const dma_heap_export_info info = {"system", &kSystemHeapOps, nullptr};
  dma_heap* heap = nullptr;
  return dma_heap_add(module, &info, &heap);
}

#ifndef DMAHEAP_BUILTIN
MODULE_LICENSE("GPL v2");
MODULE_DESCRIPTION("DMA-BUF system heap: pages from the buddy allocator, orders 8/4/0");
MODULE_AUTHOR("dmaheap");
MODULE_IMPORT_NS("DMA_BUF_HEAP");
MODULE_IMPORT_NS("DMA_BUF");
// No exit: there is no safe way to unload a heap (the RFC), so the module is permanent.
DMAHEAP_PERMANENT_MODULE(system_heap, system_heap_init);
#endif
