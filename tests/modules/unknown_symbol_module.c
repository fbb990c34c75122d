/* Uses dma_heap_remove, which the core does not export (upstream has no such function). */
#include "dmaheap/kapi.h"
#include "dmaheap/module.h"

extern int dma_heap_remove(struct dma_heap *heap);

DMAHEAP_MODULE_ENTRY int unknown_symbol_init(struct dmaheap_module *module) {
  (void)module;
  return dma_heap_remove(0);
}

MODULE_LICENSE("GPL");
MODULE_IMPORT_NS("DMA_BUF_HEAP");
DMAHEAP_PERMANENT_MODULE(unknown_symbol_heap, unknown_symbol_init);
