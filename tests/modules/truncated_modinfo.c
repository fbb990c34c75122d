/* A .modinfo whose last entry has no terminating NUL (a truncated section). */
#include "dmaheap/module.h"

DMAHEAP_MODULE_ENTRY int truncated_init(void *ctx) { return ctx == 0; }

__attribute__((section(".modinfo"), used, aligned(1))) static const char truncated[] = {
    'l', 'i', 'c', 'e', 'n', 's', 'e', '=', 'G'};
DMAHEAP_MODULE(truncated_heap, truncated_init, );
