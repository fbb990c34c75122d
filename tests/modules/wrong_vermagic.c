/* Built for another core (the suite defines DMAHEAP_VERMAGIC to something else). */
#include "dmaheap/module.h"

DMAHEAP_MODULE_ENTRY int wrong_vermagic_init(void *ctx) { return ctx == 0; }

MODULE_LICENSE("GPL");
DMAHEAP_PERMANENT_MODULE(wrong_vermagic_heap, wrong_vermagic_init);
