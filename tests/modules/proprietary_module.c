/* A non-GPL module that uses a GPL-only core symbol: refused as the kernel refuses it. */
#include "dmaheap/module.h"

extern int dma_heap_add(void *ctx, const void *info);
DMAHEAP_MODULE_ENTRY int proprietary_init(void *ctx) { return dma_heap_add(ctx, 0); }

MODULE_LICENSE("Proprietary");
MODULE_IMPORT_NS("DMA_BUF_HEAP");
DMAHEAP_PERMANENT_MODULE(proprietary_heap, proprietary_init);
