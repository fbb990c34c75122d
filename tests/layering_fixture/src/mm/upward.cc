// A file the layering check and the build must refuse: the memory layer reaching up into the
// heap layer and the plug-in ABI. Never built as part of dmaheap (tests/CMakeLists.txt compiles
// it alone, expecting the failure).
#include "heap/dma_heap.h"
#include "dmaheap/kapi.h"
#include "mm/page_alloc.h"
