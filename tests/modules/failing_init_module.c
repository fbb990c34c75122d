/* Registers a heap, then fails: the heap must go again and the module be unmapped. */
#include <errno.h>

#include "dmaheap/kapi.h"
#include "dmaheap/module.h"

static int never(struct dma_heap *h, uint64_t l, uint32_t f, uint64_t hf, struct dma_buf **o) {
  (void)h, (void)l, (void)f, (void)hf, (void)o;
  return -ENOMEM;
}
static const struct dma_heap_ops ops = {.allocate = never};

DMAHEAP_MODULE_ENTRY int failing_init(struct dmaheap_module *module) {
  struct dma_heap_export_info info = {"failing_heap", &ops, NULL};
  struct dma_heap *heap;
  if (dma_heap_add(module, &info, &heap) != 0) return -EPROTO;
  return -ENODEV;
}

MODULE_LICENSE("GPL");
MODULE_IMPORT_NS("DMA_BUF_HEAP");
DMAHEAP_MODULE(failing_module, failing_init, );
