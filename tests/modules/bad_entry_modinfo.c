/* A .modinfo entry that is not key=value. */
#include "dmaheap/module.h"

DMAHEAP_MODULE_ENTRY int bad_entry_init(void *ctx) { return ctx == 0; }

__attribute__((section(".modinfo"), used, aligned(1))) static const char bad[] = "license";
DMAHEAP_MODULE(bad_entry_heap, bad_entry_init, );
