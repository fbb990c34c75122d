// Heaps built into the core (Kconfig `y`). Each is a module_init-style function that registers
// the heap's instances; until module loading exists every heap is built in.
#ifndef DMAHEAP_SRC_HEAP_BUILTIN_HEAPS_H
#define DMAHEAP_SRC_HEAP_BUILTIN_HEAPS_H

#include "dmaheap/result.h"

namespace dmaheap {

class HeapRegistry;

// modules/system_heap/system_heap.cc: registers "system".
Result<void> SystemHeapCreate(HeapRegistry& registry);

}  // namespace dmaheap

#endif  // DMAHEAP_SRC_HEAP_BUILTIN_HEAPS_H
