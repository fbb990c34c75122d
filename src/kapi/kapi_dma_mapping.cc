// kernel/dma/mapping.c's streaming API for modules (include/dmaheap/kapi.h): an exporter maps
// its attachment's copy of the buffer's table for the attachment's device, and syncs the
// mapped ones around CPU access. The work is DmaDevice's; the counts go to the device and to
// the buffer the attachment belongs to.

#include <memory>
#include <span>

#include "base/export.h"
#include "dma/dma_device.h"
#include "dmaheap/kapi.h"
#include "kapi/c_ops.h"

namespace {

dmaheap::DmaDirection Direction(dma_data_direction dir) {
  return static_cast<dmaheap::DmaDirection>(dir);
}

bool ValidDirection(dma_data_direction dir) {
  return dir == DMA_BIDIRECTIONAL || dir == DMA_TO_DEVICE || dir == DMA_FROM_DEVICE;
}

dmaheap::DmaMapping* Mapping(const sg_table* sgt) {
  return static_cast<dmaheap::DmaMapping*>(sgt->mapping);
}

}  // namespace

extern "C" {

int dma_map_sgtable(struct device* dev, struct sg_table* sgt, enum dma_data_direction dir,
                    unsigned long attrs) {
  if (dev == nullptr || dev->dma == nullptr || sgt == nullptr || sgt->mapping != nullptr ||
      sgt->sgl == nullptr || sgt->orig_nents == 0 || !ValidDirection(dir)) {
    return -EINVAL;
  }
  const std::span<const dmaheap::ScatterEntry> pages(
      reinterpret_cast<const dmaheap::ScatterEntry*>(sgt->sgl), sgt->orig_nents);
  dmaheap::Result<dmaheap::DmaMapping> mapped =
      dev->dma->Map(pages, Direction(dir), attrs, dev->buffer);
  if (!mapped.ok()) return -mapped.error();
  auto mapping = std::make_unique<dmaheap::DmaMapping>(std::move(mapped).value());
  sgt->dma = reinterpret_cast<const dma_buf_sg_entry*>(mapping->segments.data());
  sgt->nents = static_cast<unsigned int>(mapping->segments.size());
  sgt->mapping = mapping.release();
  return 0;
}
EXPORT_SYMBOL_GPL(dma_map_sgtable);

void dma_unmap_sgtable(struct device* dev, struct sg_table* sgt, enum dma_data_direction /*dir*/,
                       unsigned long attrs) {
  if (dev == nullptr || sgt == nullptr || sgt->mapping == nullptr) return;
  std::unique_ptr<dmaheap::DmaMapping> mapping(Mapping(sgt));
  dev->dma->Unmap(*mapping, attrs, dev->buffer);
  sgt->mapping = nullptr;
  sgt->dma = nullptr;
  sgt->nents = 0;
}
EXPORT_SYMBOL(dma_unmap_sgtable);

void dma_sync_sgtable_for_cpu(struct device* dev, struct sg_table* sgt,
                              enum dma_data_direction dir) {
  if (dev == nullptr || sgt == nullptr || sgt->mapping == nullptr || !ValidDirection(dir)) return;
  dev->dma->SyncForCpu(*Mapping(sgt), Direction(dir), dev->buffer);
}
EXPORT_SYMBOL(dma_sync_sgtable_for_cpu);

void dma_sync_sgtable_for_device(struct device* dev, struct sg_table* sgt,
                                 enum dma_data_direction dir) {
  if (dev == nullptr || sgt == nullptr || sgt->mapping == nullptr || !ValidDirection(dir)) return;
  dev->dma->SyncForDevice(*Mapping(sgt), Direction(dir), dev->buffer);
}
EXPORT_SYMBOL(dma_sync_sgtable_for_device);

}  // extern "C"
