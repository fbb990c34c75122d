// A module's C ops tables (include/dmaheap/kapi.h) behind the core's one description of a heap
// and its buffers (DmaHeapOps, DmaBufOps): each C op is forwarded to the C++ op of the same name,
// and the C defaults are the C++ defaults. The opaque C handles are the core's objects.
#ifndef DMAHEAP_SRC_KAPI_C_OPS_H
#define DMAHEAP_SRC_KAPI_C_OPS_H

#include <memory>

#include "dmabuf/dma_buf.h"
#include "dmaheap/kapi.h"
#include "heap/dma_heap.h"

// A freshly exported buffer on its way from dma_buf_export back to the core.
struct dma_buf {
  dmaheap::DmaBufRef ref;
};

// The device an attachment hands its exporter (dma_buf_attachment.dev): the core's device, and
// the buffer whose DMA counters its mappings add to.
struct device {
  dmaheap::DmaDevice* dma;
  dmaheap::DmaStats* buffer;
};

namespace dmaheap {

inline DmaHeap* Heap(struct dma_heap* heap) { return reinterpret_cast<DmaHeap*>(heap); }
inline struct dma_heap* CHeap(DmaHeap* heap) { return reinterpret_cast<struct dma_heap*>(heap); }

// struct dma_heap_ops → DmaHeapOps.
class CHeapOps final : public DmaHeapOps {
 public:
  explicit CHeapOps(const dma_heap_ops* ops) : ops_(ops) {}
  Result<DmaBufRef> Allocate(DmaHeap& heap, uint64_t len, uint32_t fd_flags,
                             uint64_t heap_flags) const override;

 private:
  const dma_heap_ops* const ops_;
};

// struct dma_buf_ops + priv → DmaBufOps. The module's release runs when this object goes, once
// Arm() was called (dma_buf_export succeeded); never for an export that failed.
class CBufferOps final : public DmaBufOps {
 public:
  CBufferOps(const dma_buf_ops* ops, void* priv) : ops_(ops), priv_(priv) {}
  ~CBufferOps() override;
  void Arm() { armed_ = true; }

  std::span<const ScatterEntry> sg_table() const override;
  Result<void> Mmap(const VmaRequest& vma) override;
  Result<void> BeginCpuAccess(DmaDirection dir) override;
  Result<void> EndCpuAccess(DmaDirection dir) override;
  Result<void> Attach(DmaBufAttachment& attachment) override;
  void Detach(DmaBufAttachment& attachment) override;
  Result<void> MapDmaBuf(DmaBufAttachment& attachment, DmaDirection dir) override;
  void UnmapDmaBuf(DmaBufAttachment& attachment, DmaDirection dir) override;

 private:
  const dma_buf_ops* const ops_;
  void* const priv_;
  bool armed_ = false;
};

}  // namespace dmaheap

#endif  // DMAHEAP_SRC_KAPI_C_OPS_H
