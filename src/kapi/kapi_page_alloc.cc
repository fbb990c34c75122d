// mm/page_alloc.c's exports for modules (include/dmaheap/kapi.h): the modelled buddy allocator
// of the System a heap belongs to, GPL-only.

#include "base/export.h"
#include "dmaheap/kapi.h"
#include "kapi/c_ops.h"
#include "mm/page_alloc.h"

extern "C" {

int alloc_pages(struct dma_heap* heap, unsigned int order, uint64_t* pfn) {
  if (heap == nullptr || pfn == nullptr) return -EINVAL;
  dmaheap::Result<uint64_t> r = dmaheap::Heap(heap)->context().pages.AllocPages(order);
  if (!r.ok()) return -r.error();
  *pfn = *r;
  return 0;
}
EXPORT_SYMBOL_GPL(alloc_pages);

void __free_pages(struct dma_heap* heap, uint64_t pfn, unsigned int order) {
  if (heap != nullptr) dmaheap::Heap(heap)->context().pages.FreePages(pfn, order);
}
EXPORT_SYMBOL_GPL(__free_pages);

uint64_t nr_free_pages(struct dma_heap* heap) {
  return heap == nullptr ? 0 : dmaheap::Heap(heap)->context().pages.free_pages();
}
EXPORT_SYMBOL_GPL(nr_free_pages);

}  // extern "C"
