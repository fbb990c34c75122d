// The system heap (drivers/dma-buf/heaps/system_heap.c) as a permanent module, as the 2019 RFC
// made it: buffers gathered from the buddy allocator in the largest blocks available, one sg
// entry per block, zeroed (every buffer is a new memfd, which shmem zero-fills). Devices attach,
// map and sync as dmaheap/heap_buffer.h describes.
//
// With it, as the Android common kernel (5.10, 5.15) has it, the "system-uncached" heap: the
// same pages, CPU mappings write-combined, device maps without CPU cache maintenance
// (DMA_ATTR_SKIP_CPU_SYNC), begin/end CPU access with nothing to do. Modelled: the host mapping
// is the memfd's as for any buffer; what differs is what the DMA API is asked to do (counted in
// the device and buffer stats), the heap's DMA_HEAP_UNCACHED flag that tools and the CPU-sync
// sanitizer read, and the one cache flush at allocation that Android does through the heap's own
// device, which dmaheap's heaps do not have (not modelled).
//
// Built as system_heap.so by default, or into the core (DMAHEAP_SYSTEM_HEAP=y, like Kconfig
// `y`), when DMAHEAP_BUILTIN is defined and the core calls system_heap_init itself.

#include <errno.h>

#include <memory>
#include <vector>

#include "dmaheap/heap_buffer.h"
#include "dmaheap/kapi.h"
#include "dmaheap/module.h"

namespace {

// 1 MiB, 64 KiB and 4 KiB blocks: the sizes often found in IOMMUs, so a device mapping can use
// large IOMMU pages and less TLB; orders above 8 would only make allocation slower under
// fragmentation.
constexpr unsigned kOrders[] = {8, 4, 0};
constexpr size_t kNumOrders = sizeof(kOrders) / sizeof(kOrders[0]);
constexpr uint64_t kPageSize = 4096;

using dmaheap_heaps::HeapBuffer;

// The private buffer: its sg table is the record of its blocks (address >> 12, log2 pages).
struct SystemHeapBuffer : HeapBuffer {
  dma_heap* heap = nullptr;
};

void SystemHeapRelease(void* priv) {
  std::unique_ptr<SystemHeapBuffer> b(static_cast<SystemHeapBuffer*>(dmaheap_heaps::Buffer(priv)));
  for (const dma_buf_sg_entry& e : b->table) {
    __free_pages(b->heap, e.dma_address / kPageSize,
                 static_cast<unsigned>(__builtin_ctzll(e.length / kPageSize)));
  }
}

constexpr dma_buf_ops kSystemHeapBufOps = dmaheap_heaps::HeapBufOps(SystemHeapRelease);

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
  buffer->uncached = dma_heap_get_drvdata(heap) != nullptr;
  size_t max_index = 0;
  for (uint64_t remaining = len; remaining > 0;) {
    dma_buf_sg_entry block;
    if (AllocLargestAvailable(heap, remaining, max_index, &block) != 0) {
      SystemHeapRelease(static_cast<HeapBuffer*>(buffer.release()));  // gives back its blocks
      return -ENOMEM;
    }
    buffer->table.push_back(block);
    remaining -= block.length;
  }
  HeapBuffer* priv = buffer.get();
  const dma_buf_export_info info = {&kSystemHeapBufOps, len, fd_flags, priv};
  const int rc = dma_buf_export(heap, &info, out);
  if (rc != 0) {
    SystemHeapRelease(static_cast<HeapBuffer*>(buffer.release()));
    return rc;
  }
  (void)buffer.release();  // owned by the dma-buf now; freed by SystemHeapRelease
  return 0;
}

const dma_heap_ops kSystemHeapOps = {SystemHeapAllocate};

// The uncached heap's drvdata: its mark (the cached heap's is null).
int g_uncached_mark;

}  // namespace

DMAHEAP_MODULE_ENTRY int system_heap_init(dmaheap_module* module) {
  const dma_heap_export_info info = {"system", &kSystemHeapOps, nullptr};
  dma_heap* heap = nullptr;
  if (const int rc = dma_heap_add(module, &info, &heap); rc != 0) return rc;
  const dma_heap_export_info uncached = {"system-uncached", &kSystemHeapOps, &g_uncached_mark,
                                         DMA_HEAP_UNCACHED};
  return dma_heap_add(module, &uncached, &heap);
}

#ifndef DMAHEAP_BUILTIN
MODULE_LICENSE("GPL v2");
MODULE_DESCRIPTION("DMA-BUF system heaps (system, system-uncached): buddy pages, orders 8/4/0");
MODULE_AUTHOR("dmaheap");
MODULE_IMPORT_NS("DMA_BUF_HEAP");
MODULE_IMPORT_NS("DMA_BUF");
// No exit: there is no safe way to unload a heap (the RFC), so the module is permanent.
DMAHEAP_PERMANENT_MODULE(system_heap, system_heap_init);
#endif
