// mm/cma.c and kernel/dma/contiguous.c's exports for modules (include/dmaheap/kapi.h), GPL-only
// as the RFC exported them, and drivers/of/of_reserved_mem.c's walk over the regions: the CMA
// areas and reserved memory of the module's System. `struct cma` is a CmaRegion; each
// `struct reserved_mem` is made for the call that shows it.

#include <cstdio>

#include "base/export.h"
#include "dmaheap/kapi.h"
#include "heap/dma_heap.h"
#include "kapi/module_context.h"
#include "mm/cma_trace.h"
#include "mm/reserved_mem.h"

namespace {

dmaheap::CmaRegion* Region(struct cma* cma) { return reinterpret_cast<dmaheap::CmaRegion*>(cma); }
const dmaheap::CmaRegion* Region(const struct cma* cma) {
  return reinterpret_cast<const dmaheap::CmaRegion*>(cma);
}
struct cma* CCma(dmaheap::CmaRegion* region) { return reinterpret_cast<struct cma*>(region); }

dmaheap::ReservedMemory* Reserved(struct dmaheap_module* module) {
  if (module == nullptr || module->context == nullptr) return nullptr;
  return &module->context->heap_context().reserved;
}

}  // namespace

extern "C" {

struct cma* dev_get_cma_area(struct dmaheap_module* module, struct device* dev) {
  dmaheap::ReservedMemory* reserved = Reserved(module);
  (void)dev;  // no device has an area of its own
  if (reserved == nullptr) return nullptr;
  return CCma(reserved->default_cma());
}
EXPORT_SYMBOL_GPL(dev_get_cma_area);

int cma_for_each_area(struct dmaheap_module* module, int (*it)(struct cma* cma, void* data),
                      void* data) {
  dmaheap::ReservedMemory* reserved = Reserved(module);
  if (reserved == nullptr || it == nullptr) return -EINVAL;
  for (dmaheap::CmaRegion& region : reserved->cma()) {
    if (const int rc = it(CCma(&region), data); rc != 0) return rc;
  }
  return 0;
}
EXPORT_SYMBOL_GPL(cma_for_each_area);

const char* cma_get_name(const struct cma* cma) {
  return cma == nullptr ? nullptr : Region(cma)->area->name().c_str();
}
EXPORT_SYMBOL_GPL(cma_get_name);

unsigned long cma_get_size(const struct cma* cma) {
  return cma == nullptr ? 0 : static_cast<unsigned long>(Region(cma)->area->count() << 12);
}
EXPORT_SYMBOL_GPL(cma_get_size);

unsigned long cma_get_flags(const struct cma* cma) {
  if (cma == nullptr) return 0;
  return (Region(cma)->is_default ? CMA_FLAG_DEFAULT : 0) | (Region(cma)->heap ? CMA_FLAG_HEAP : 0);
}
EXPORT_SYMBOL_GPL(cma_get_flags);

int cma_alloc(struct cma* cma, unsigned long count, unsigned int align, bool no_warn,
              uint64_t* pfn) {
  if (cma == nullptr || pfn == nullptr || count == 0) return -EINVAL;
  dmaheap::CmaArea& area = *Region(cma)->area;
  // The kernel's trace points (trace_cma_alloc_start / _finish), for dmaheapd --record.
  dmaheap::CmaTraceRecorder* recorder = dmaheap::CmaTraceRecorder::Get();
  if (recorder != nullptr) recorder->AllocStart(area.name(), count, align);
  dmaheap::Result<uint64_t> r = area.Alloc(count, align);
  if (recorder != nullptr) {
    recorder->AllocFinish(area.name(), r.ok() ? *r : 0, count, align, r.ok() ? 0 : -r.error());
  }
  if (!r.ok()) {
    if (!no_warn) {
      std::fprintf(stderr, "cma: __cma_alloc: %s: alloc failed, req-size: %lu pages, ret: %d\n",
                   area.name().c_str(), count, -r.error());
    }
    return -r.error();
  }
  *pfn = *r;
  return 0;
}
EXPORT_SYMBOL_GPL(cma_alloc);

bool cma_release(struct cma* cma, uint64_t pfn, unsigned long count) {
  if (cma == nullptr || !Region(cma)->area->Release(pfn, count)) return false;
  if (dmaheap::CmaTraceRecorder* recorder = dmaheap::CmaTraceRecorder::Get()) {
    recorder->Release(Region(cma)->area->name(), pfn, count);
  }
  return true;
}
EXPORT_SYMBOL_GPL(cma_release);

int reserved_mem_for_each(struct dmaheap_module* module,
                          int (*it)(const struct reserved_mem* rmem, void* data), void* data) {
  dmaheap::ReservedMemory* reserved = Reserved(module);
  if (reserved == nullptr || it == nullptr) return -EINVAL;
  for (const dmaheap::ReservedRegion& r : reserved->regions()) {
    const reserved_mem rmem{r.name.c_str(), r.base, r.size,
                            (r.no_map ? RESERVED_MEM_NO_MAP : 0) |
                                (r.reusable ? RESERVED_MEM_REUSABLE : 0) |
                                (r.heap ? RESERVED_MEM_HEAP : 0)};
    if (const int rc = it(&rmem, data); rc != 0) return rc;
  }
  return 0;
}
EXPORT_SYMBOL_GPL(reserved_mem_for_each);

}  // extern "C"
