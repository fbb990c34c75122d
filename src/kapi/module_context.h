// The context a module's init receives (`struct dmaheap_module *` in include/dmaheap/kapi.h):
// the only way a module registers heaps, and how the kernel API finds the System a module was
// loaded into. The module layer implements ModuleContext, one per loaded module; the kernel API
// reaches it only through this interface, so it knows nothing of the loader.
#ifndef DMAHEAP_SRC_KAPI_MODULE_CONTEXT_H
#define DMAHEAP_SRC_KAPI_MODULE_CONTEXT_H

#include <memory>

#include "dmaheap/result.h"
#include "heap/dma_heap.h"

namespace dmaheap {

class ModuleContext {
 public:
  // dma_heap_add for this module: registers the heap with the kernel's checks and records it as
  // the module's (it goes when the module is unloaded). Keeps `ops` for the heap's life. Errors:
  // HeapRegistry::Add's.
  virtual Result<DmaHeap*> AddHeap(DmaHeapExportInfo info, std::unique_ptr<DmaHeapOps> ops) = 0;
  // What the module's System offers heaps: its page allocator, buffers and reserved memory.
  virtual HeapContext& heap_context() = 0;

 protected:
  ~ModuleContext() = default;
};

}  // namespace dmaheap

// `context` is set for the module's lifetime; `active` only while its init runs — a module's
// static constructors, which run when it is mapped, see no active context.
struct dmaheap_module {
  dmaheap::ModuleContext* context;
  bool active;
};

#endif  // DMAHEAP_SRC_KAPI_MODULE_CONTEXT_H
