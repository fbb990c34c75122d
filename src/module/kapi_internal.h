// What the kernel API (kapi.cc) and the module registry (module.cc) share: the C structs behind
// the opaque kapi.h handles, and the adapter from a module's C heap ops to DmaHeapOps.
#ifndef DMAHEAP_SRC_MODULE_KAPI_INTERNAL_H
#define DMAHEAP_SRC_MODULE_KAPI_INTERNAL_H

#include "dmabuf/dma_buf.h"
#include "dmaheap/kapi.h"
#include "heap/dma_heap.h"

namespace dmaheap {
class ModuleContextOwner;
}

// The context a module's init receives; `active` only while init runs.
struct dmaheap_module {
  dmaheap::ModuleContextOwner* owner;
  bool active;
};

// A freshly exported buffer on its way from dma_buf_export back to the core.
struct dma_buf {
  dmaheap::DmaBufRef ref;
};

namespace dmaheap {

DmaHeap* Heap(struct dma_heap* heap);
struct dma_heap* CHeap(DmaHeap* heap);

// A module's struct dma_heap_ops behind the core's DmaHeapOps.
class CHeapOps final : public DmaHeapOps {
 public:
  explicit CHeapOps(const dma_heap_ops* ops) : ops_(ops) {}
  Result<DmaBufRef> Allocate(DmaHeap& heap, uint64_t len, uint32_t fd_flags,
                             uint64_t heap_flags) const override;

 private:
  const dma_heap_ops* const ops_;
};

// The HeapContext of the System a module context belongs to (module.cc); null for null.
HeapContext* ModuleHeapContext(struct dmaheap_module* module);

// Registers a heap for the module whose init holds `ctx` (module.cc). 0 or -errno.
int ModuleRegisterHeap(dmaheap_module& ctx, const dma_heap_export_info& info, DmaHeap** out);

}  // namespace dmaheap

#endif  // DMAHEAP_SRC_MODULE_KAPI_INTERNAL_H
