// The CMA heap (drivers/dma-buf/heaps/cma_heap.c) as a permanent module: each buffer is one
// contiguous range of a CMA area (one sg entry), zeroed (a new memfd is zero-filled). Devices
// attach, map and sync as dmaheap/heap_buffer.h describes.
//
// Which areas become heaps, as Linux ≥ 6.17 does: the default area as "default_cma_region",
// plus a second heap on the same area under its legacy name ("reserved" for cma=, else the DT
// node's name; skipped with a warning when the two are equal). Other areas become heaps only
// where the board marks them (`dmaheap,heap`, seen here as CMA_FLAG_HEAP), named after their node.

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <memory>

#include "dmaheap/heap_buffer.h"
#include "dmaheap/kapi.h"
#include "dmaheap/module.h"

#ifndef CONFIG_CMA_ALIGNMENT
#define CONFIG_CMA_ALIGNMENT 8
#endif

namespace {

constexpr uint64_t kPageSize = 4096;
constexpr char kDefaultCmaName[] = "default_cma_region";

using dmaheap_heaps::HeapBuffer;

// Its table is the one contiguous range.
struct CmaHeapBuffer : HeapBuffer {
  struct cma* cma = nullptr;
  uint64_t pagecount = 0;
};

void CmaHeapRelease(void* priv) {
  std::unique_ptr<CmaHeapBuffer> b(static_cast<CmaHeapBuffer*>(dmaheap_heaps::Buffer(priv)));
  cma_release(b->cma, b->table[0].dma_address / kPageSize, b->pagecount);
}

constexpr dma_buf_ops kCmaHeapBufOps = dmaheap_heaps::HeapBufOps(CmaHeapRelease);

// get_order(size) for a page-aligned size: the smallest order with 2^order pages >= size.
unsigned GetOrder(uint64_t size) {
  unsigned order = 0;
  while ((kPageSize << order) < size) ++order;
  return order;
}

int CmaHeapAllocate(dma_heap* heap, uint64_t len, uint32_t fd_flags, uint64_t /*heap_flags*/,
                    dma_buf** out) {
  auto* cma = static_cast<struct cma*>(dma_heap_get_drvdata(heap));
  const uint64_t pagecount = len / kPageSize;
  unsigned align = GetOrder(len);
  if (align > CONFIG_CMA_ALIGNMENT) align = CONFIG_CMA_ALIGNMENT;
  uint64_t pfn = 0;
  if (cma_alloc(cma, pagecount, align, false, &pfn) != 0) return -ENOMEM;
  auto buffer = std::make_unique<CmaHeapBuffer>();
  buffer->cma = cma;
  buffer->pagecount = pagecount;
  buffer->table.push_back(dma_buf_sg_entry{pfn * kPageSize, len});
  HeapBuffer* priv = buffer.get();
  const dma_buf_export_info info = {&kCmaHeapBufOps, len, fd_flags, priv};
  const int rc = dma_buf_export(heap, &info, out);
  if (rc != 0) {
    CmaHeapRelease(static_cast<HeapBuffer*>(buffer.release()));
    return rc;
  }
  (void)buffer.release();  // owned by the dma-buf now; freed by CmaHeapRelease
  return 0;
}

const dma_heap_ops kCmaHeapOps = {CmaHeapAllocate};

int AddCmaHeap(dmaheap_module* module, struct cma* cma, const char* name) {
  const dma_heap_export_info info = {name, &kCmaHeapOps, cma, DMA_HEAP_CONTIGUOUS,
                                     cma_get_size(cma)};
  dma_heap* heap = nullptr;
  const int rc = dma_heap_add(module, &info, &heap);
  if (rc != 0) fprintf(stderr, "cma_heap: %s: heap registration failed: %d\n", name, rc);
  return rc;
}

// cma_for_each_area callback: a heap for each marked area that is not the default one.
int AddMarkedArea(struct cma* cma, void* module) {
  const unsigned long flags = cma_get_flags(cma);
  if ((flags & CMA_FLAG_HEAP) == 0 || (flags & CMA_FLAG_DEFAULT) != 0) return 0;
  return AddCmaHeap(static_cast<dmaheap_module*>(module), cma, cma_get_name(cma));
}

}  // namespace

DMAHEAP_MODULE_ENTRY int cma_heap_init(dmaheap_module* module) {
  if (struct cma* default_cma = dev_get_cma_area(module, nullptr)) {
    if (const int rc = AddCmaHeap(module, default_cma, kDefaultCmaName); rc != 0) return rc;
    const char* legacy = cma_get_name(default_cma);
    if (strcmp(legacy, kDefaultCmaName) == 0) {
      fprintf(stderr, "cma_heap: legacy name and default name are the same, skipping legacy "
              "heap\n");
    } else if (const int rc = AddCmaHeap(module, default_cma, legacy); rc != 0) {
      return rc;
    }
  }
  return cma_for_each_area(module, AddMarkedArea, module);
}

MODULE_LICENSE("GPL v2");
MODULE_DESCRIPTION("DMA-BUF CMA heap: contiguous buffers from the board's CMA areas");
MODULE_AUTHOR("dmaheap");
MODULE_IMPORT_NS("DMA_BUF_HEAP");
MODULE_IMPORT_NS("DMA_BUF");
// No exit: as the RFC made it, a CMA heap cannot be unloaded.
DMAHEAP_PERMANENT_MODULE(cma_heap, cma_heap_init);
