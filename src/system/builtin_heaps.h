// Heap modules built into the core (Kconfig `y`): their init functions, called at boot through
// ModuleRegistry::InitBuiltin exactly as a loaded module's init is called.
#ifndef DMAHEAP_SRC_HEAP_BUILTIN_HEAPS_H
#define DMAHEAP_SRC_HEAP_BUILTIN_HEAPS_H

struct dmaheap_module;

extern "C" int system_heap_init(dmaheap_module* module);

#endif  // DMAHEAP_SRC_HEAP_BUILTIN_HEAPS_H
