// drivers/dma-buf/dma-buf.c's export for modules (include/dmaheap/kapi.h): dma_buf_export, the
// module's buffer behind the core's DmaBufOps.

#include <memory>

#include "base/export.h"
#include "dmaheap/kapi.h"
#include "kapi/c_ops.h"

extern "C" {

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

}  // extern "C"
