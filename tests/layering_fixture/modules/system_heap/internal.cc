// A heap module reaching past the plug-in ABI into the core's own headers: refused.
#include "dmaheap/kapi.h"
#include "heap/dma_heap.h"
