/* A heap module whose allocate crashes (a NULL write): what a buggy third-party heap does to
 * the daemon that loaded it. Modules run in the daemon's process, as in the kernel, so the
 * daemon dies; restart_test shows what a restart then keeps. */
#include <errno.h>

#include "dmaheap/kapi.h"
#include "dmaheap/module.h"

static int crashing_allocate(struct dma_heap *heap, uint64_t len, uint32_t fd_flags,
                             uint64_t heap_flags, struct dma_buf **out) {
  (void)heap, (void)len, (void)fd_flags, (void)heap_flags, (void)out;
  volatile int *nowhere = 0;
  *nowhere = 1;
  return -EIO;
}

static const struct dma_heap_ops crashing_heap_ops = {.allocate = crashing_allocate};

DMAHEAP_MODULE_ENTRY int crashing_heap_init(struct dmaheap_module *module) {
  struct dma_heap_export_info info = {"crashing_heap", &crashing_heap_ops, NULL};
  struct dma_heap *heap;
  return dma_heap_add(module, &info, &heap);
}

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("dmaheap test heap that crashes in allocate");
MODULE_IMPORT_NS("DMA_BUF_HEAP");
DMAHEAP_MODULE(crashing_heap_module, crashing_heap_init, NULL);
