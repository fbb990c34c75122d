/* A static constructor (it runs when the module is mapped, before init) tries to register a
 * heap: there is no context yet, so it must be refused. init reports what happened. */
#include <errno.h>

#include "dmaheap/kapi.h"
#include "dmaheap/module.h"

static int never(struct dma_heap *h, uint64_t l, uint32_t f, uint64_t hf, struct dma_buf **o) {
  (void)h, (void)l, (void)f, (void)hf, (void)o;
  return -ENOMEM;
}
static const struct dma_heap_ops ops = {.allocate = never};
static int ctor_result = 1;

__attribute__((constructor)) static void register_too_early(void) {
  struct dma_heap_export_info info = {"sneaky_heap", &ops, NULL};
  struct dma_heap *heap;
  ctor_result = dma_heap_add(NULL, &info, &heap);
}

DMAHEAP_MODULE_ENTRY int static_ctor_init(struct dmaheap_module *module) {
  (void)module;
  return ctor_result;  /* -EINVAL when the core refused, as it must */
}

MODULE_LICENSE("GPL");
MODULE_IMPORT_NS("DMA_BUF_HEAP");
DMAHEAP_MODULE(static_ctor_module, static_ctor_init, );
