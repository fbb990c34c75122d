/* No exit function: a permanent module, as the RFC's heap modules are. */
#include "dmaheap/module.h"

DMAHEAP_MODULE_ENTRY int permanent_init(void *ctx) { return ctx == 0 ? -22 : 0; }

MODULE_LICENSE("GPL v2");
DMAHEAP_PERMANENT_MODULE(permanent_heap, permanent_init);
