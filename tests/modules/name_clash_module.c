/* Defines its own function named like a core export. Built -fvisibility=hidden
 * -fno-semantic-interposition, its calls bind to its own definition, not to the core's. */
#include <errno.h>

#include "dmaheap/module.h"

int dma_buf_export(void) { return 7; }

DMAHEAP_MODULE_ENTRY int name_clash_init(void *module) {
  (void)module;
  return dma_buf_export() == 7 ? 0 : -EPROTO;
}
DMAHEAP_MODULE_ENTRY void name_clash_exit(void) {}

MODULE_LICENSE("GPL");
DMAHEAP_MODULE(name_clash_module, name_clash_init, name_clash_exit);
