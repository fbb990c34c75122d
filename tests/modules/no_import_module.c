/* A GPL module that uses a namespaced symbol without MODULE_IMPORT_NS. */
#include "dmaheap/module.h"

extern int dma_heap_add(void *ctx, const void *info);
DMAHEAP_MODULE_ENTRY int no_import_init(void *ctx) { return dma_heap_add(ctx, 0); }

MODULE_LICENSE("GPL");
DMAHEAP_PERMANENT_MODULE(no_import_heap, no_import_init);
