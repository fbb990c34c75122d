// The kernel API of include/dmaheap/kapi.h: C entry points for modules, their export entries,
// and the adapters that turn a module's C ops tables into the core's DmaHeapOps / DmaBufOps.

#include "dmaheap/kapi.h"

#include <cstdio>
#include <memory>

#include "base/check.h"
#include "dmabuf/dma_buf.h"
#include "heap/dma_heap.h"
#include "mm/page_alloc.h"
#include "module/export.h"
#include "module/kapi_internal.h"

namespace dmaheap {

DmaHeap* Heap(struct dma_heap* heap) { return reinterpret_cast<DmaHeap*>(heap); }
struct dma_heap* CHeap(DmaHeap* heap) { return reinterpret_cast<struct dma_heap*>(heap); }

namespace {


// A module's buffer behind the core's DmaBufOps. The module's release runs once, when the core
// drops the buffer; never for an export that failed.
class CBufferOps final : public DmaBufOps {
 public:
  CBufferOps(const dma_buf_ops* ops, void* priv) : ops_(ops), priv_(priv) {}
  ~CBufferOps() override {
    if (armed_) ops_->release(priv_);
  }
  void Arm() { armed_ = true; }

  Result<void> BeginCpuAccess(DmaDirection dir) override {
    if (ops_->begin_cpu_access == nullptr) return {};
    return Check(ops_->begin_cpu_access(priv_, static_cast<dma_data_direction>(dir)));
  }
  Result<void> EndCpuAccess(DmaDirection dir) override {
    if (ops_->end_cpu_access == nullptr) return {};
    return Check(ops_->end_cpu_access(priv_, static_cast<dma_data_direction>(dir)));
  }
  Result<void> Mmap(const VmaRequest& vma) override {
    if (ops_->mmap == nullptr) return Errno(EINVAL);
    return Check(ops_->mmap(priv_, vma.offset, vma.length, vma.prot, vma.flags));
  }
  // The module's own table, read where it lies (it lives as long as priv).
  std::span<const ScatterEntry> sg_table() const override {
    if (ops_->sg_table == nullptr) return {};
    size_t count = 0;
    const dma_buf_sg_entry* e = ops_->sg_table(priv_, &count);
    if (e == nullptr) return {};
    return {e, count};
  }

 private:
  static Result<void> Check(int rc) {
    if (rc < 0) return Errno(-rc);
    return {};
  }
  const dma_buf_ops* const ops_;
  void* const priv_;
  bool armed_ = false;
};

}  // namespace

Result<DmaBufRef> CHeapOps::Allocate(DmaHeap& heap, uint64_t len, uint32_t fd_flags,
                                     uint64_t heap_flags) const {
  struct dma_buf* out = nullptr;
  const int rc = ops_->allocate(CHeap(&heap), len, fd_flags, heap_flags, &out);
  if (rc < 0) return Errno(-rc);
  if (rc > 0 || out == nullptr) return Errno(EIO);  // a module broke the contract
  DmaBufRef buf = std::move(out->ref);
  delete out;
  return buf;
}

}  // namespace dmaheap

using dmaheap::DmaHeap;

extern "C" {

int dma_heap_add(struct dmaheap_module* module, const struct dma_heap_export_info* info,
                 struct dma_heap** out) {
  if (module == nullptr || !module->active) {
    std::fprintf(stderr, "dma_heap: heap registration outside a module's init refused\n");
    return -EINVAL;
  }
  if (info == nullptr || out == nullptr) return -EINVAL;
  DmaHeap* heap = nullptr;
  const int rc = dmaheap::ModuleRegisterHeap(*module, *info, &heap);
  if (rc == 0) *out = dmaheap::CHeap(heap);
  return rc;
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

int dma_buf_export(struct dma_heap* heap, const struct dma_buf_export_info* info,
                   struct dma_buf** out) {
  if (heap == nullptr || info == nullptr || out == nullptr || info->ops == nullptr ||
      info->ops->release == nullptr || info->size == 0) {
    return -EINVAL;  // dma_buf_export's WARN_ON: ops and release are required
  }
  auto ops = std::make_unique<dmaheap::CBufferOps>(info->ops, info->priv);
  dmaheap::CBufferOps* raw = ops.get();
  dmaheap::Result<dmaheap::DmaBufRef> buf =
      dmaheap::Heap(heap)->Export(std::move(ops), info->size, info->flags);
  if (!buf.ok()) return -buf.error();
  raw->Arm();
  *out = new dma_buf{std::move(buf).value()};
  return 0;
}
EXPORT_SYMBOL_NS_GPL(dma_buf_export, "DMA_BUF");

int alloc_pages(struct dma_heap* heap, unsigned int order, uint64_t* pfn) {
  if (heap == nullptr || pfn == nullptr) return -EINVAL;
  dmaheap::Result<uint64_t> r = dmaheap::Heap(heap)->context().pages.AllocPages(order);
  if (!r.ok()) return -r.error();
  *pfn = *r;
  return 0;
}
EXPORT_SYMBOL_GPL(alloc_pages);

void __free_pages(struct dma_heap* heap, uint64_t pfn, unsigned int order) {
  if (heap != nullptr) dmaheap::Heap(heap)->context().pages.FreePages(pfn, order);
}
EXPORT_SYMBOL_GPL(__free_pages);

uint64_t nr_free_pages(struct dma_heap* heap) {
  return heap == nullptr ? 0 : dmaheap::Heap(heap)->context().pages.free_pages();
}
EXPORT_SYMBOL_GPL(nr_free_pages);

}  // extern "C"

namespace dmaheap {

extern "C" const KsymEntry __start_dmaheap_ksymtab[];  // NOLINT: linker-provided bounds
extern "C" const KsymEntry __stop_dmaheap_ksymtab[];

ExportTable CoreExportTable() {
  ExportTable table;
  for (const KsymEntry* e = __start_dmaheap_ksymtab; e < __stop_dmaheap_ksymtab; ++e) {
    table.Add(KernelSymbol{e->name, e->gpl_only != 0 ? ExportClass::kGplOnly : ExportClass::kPlain,
                           e->ns});
  }
  return table;
}

}  // namespace dmaheap
