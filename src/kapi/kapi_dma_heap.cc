// drivers/dma-buf/dma-heap.c's exports for modules (include/dmaheap/kapi.h): heap registration
// through the module's init context, and the heap's own data.

#include <cstdio>
#include <memory>

#include "base/export.h"
#include "dmaheap/kapi.h"
#include "kapi/c_ops.h"
#include "kapi/module_context.h"

extern "C" {

int dma_heap_add(struct dmaheap_module* module, const struct dma_heap_export_info* info,
                 struct dma_heap** out) {
  if (module == nullptr || !module->active || module->context == nullptr) {
    std::fprintf(stderr, "dma_heap: heap registration outside a module's init refused\n");
    return -EINVAL;
  }
  if (info == nullptr || out == nullptr) return -EINVAL;
  dmaheap::DmaHeapExportInfo core;
  core.name = info->name != nullptr ? info->name : "";
  std::unique_ptr<dmaheap::DmaHeapOps> ops;
  if (info->ops != nullptr && info->ops->allocate != nullptr) {
    ops = std::make_unique<dmaheap::CHeapOps>(info->ops);
    core.ops = ops.get();
  }
  core.priv = info->priv;
  core.properties.contiguous = (info->flags & DMA_HEAP_CONTIGUOUS) != 0;
  core.properties.cached = (info->flags & DMA_HEAP_UNCACHED) == 0;
  core.properties.max_size = info->max_size;
  // The kernel's checks and messages (HeapRegistry::Add); the module context fills in the owner.
  dmaheap::Result<dmaheap::DmaHeap*> heap = module->context->AddHeap(core, std::move(ops));
  if (!heap.ok()) return -heap.error();
  *out = dmaheap::CHeap(*heap);
  return 0;
}
EXPORT_SYMBOL_NS_GPL(dma_heap_add, "DMA_BUF_HEAP");

void* dma_heap_get_drvdata(struct dma_heap* heap) {
  return heap == nullptr ? nullptr : dmaheap::Heap(heap)->priv();
}
EXPORT_SYMBOL_NS_GPL(dma_heap_get_drvdata, "DMA_BUF_HEAP");

const char* dma_heap_get_name(struct dma_heap* heap) {
  return heap == nullptr ? nullptr : dmaheap::Heap(heap)->name().c_str();
}
EXPORT_SYMBOL_NS_GPL(dma_heap_get_name, "DMA_BUF_HEAP");

}  // extern "C"
