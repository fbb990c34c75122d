/* A well-formed module for the reader tests: every .modinfo key, two namespace imports, an init
 * and an exit, one core symbol it needs (unversioned) and libc's getenv (versioned). */
#include <stdlib.h>
#include <string.h>

#include "dmaheap/module.h"

extern int dma_heap_add(void *ctx, const void *info);
extern int dmaheap_optional_hook(void) __attribute__((weak));

DMAHEAP_MODULE_ENTRY int good_init(void *ctx) {
  char name[8];
  memcpy(name, "good", 5);
  if (dmaheap_optional_hook) dmaheap_optional_hook();
  if (getenv("DMAHEAP_GOOD_MODULE_FAIL") != NULL) return -22;
  return dma_heap_add(ctx, name);
}
DMAHEAP_MODULE_ENTRY void good_exit(void) {}

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("reader test module");
MODULE_AUTHOR("dmaheap tests");
MODULE_IMPORT_NS("DMA_BUF_HEAP");
MODULE_IMPORT_NS("DMA_BUF");
DMAHEAP_MODULE(good_heap, good_init, good_exit);
