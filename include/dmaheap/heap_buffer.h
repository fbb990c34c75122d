// What every heap module's buffer does with devices, as drivers/dma-buf/heaps/system_heap.c and
// cma_heap.c both do it (the same code, kept once here for dmaheap's heaps): attach copies the
// buffer's sg table for the device and remembers the attachment; map_dma_buf maps that copy
// for the device (dma_map_sgtable); begin/end CPU access sync exactly the mapped attachments,
// in the ioctl's direction (the 5.11 rule: an unmapped attachment has nothing to sync). An
// uncached buffer (Android's system-uncached heap) maps with DMA_ATTR_SKIP_CPU_SYNC and does
// no CPU-access syncs: its CPU mappings bypass the cache.
//
// Header-only, part of the plug-in ABI: it uses the kernel API alone (dmaheap/kapi.h).
// A module's buffer type derives from HeapBuffer, fills `table`, and exports with
// priv = static_cast<HeapBuffer*>(buffer); its ops take the attachment ops from here.
#ifndef DMAHEAP_HEAP_BUFFER_H
#define DMAHEAP_HEAP_BUFFER_H

#include <errno.h>
#include <sys/mman.h>

#include <algorithm>
#include <memory>
#include <mutex>
#include <vector>

#include "dmaheap/kapi.h"

namespace dmaheap_heaps {

// struct dma_heap_attachment.
struct HeapAttachment {
  dma_buf_attachment* attachment;
  std::vector<dma_buf_sg_entry> pages;  // the copy of the buffer's table (dup_sg_table)
  sg_table table;
  bool mapped = false;
};

struct HeapBuffer {
  virtual ~HeapBuffer() = default;
  std::vector<dma_buf_sg_entry> table;  // the buffer's pages
  bool uncached = false;
  std::mutex lock;  // guards attachments (attach and CPU access may race)
  std::vector<std::unique_ptr<HeapAttachment>> attachments;
};

inline HeapBuffer* Buffer(void* priv) { return static_cast<HeapBuffer*>(priv); }

inline int HeapAttach(void* priv, dma_buf_attachment* attachment) {
  HeapBuffer* b = Buffer(priv);
  auto a = std::make_unique<HeapAttachment>();
  a->attachment = attachment;
  a->pages = b->table;
  a->table = sg_table{a->pages.data(), static_cast<unsigned int>(a->pages.size()), nullptr, 0,
                      nullptr};
  attachment->priv = a.get();
  std::lock_guard guard(b->lock);
  b->attachments.push_back(std::move(a));
  return 0;
}

inline void HeapDetach(void* priv, dma_buf_attachment* attachment) {
  HeapBuffer* b = Buffer(priv);
  std::lock_guard guard(b->lock);
  auto& list = b->attachments;
  list.erase(std::remove_if(list.begin(), list.end(),
                            [&](const auto& a) { return a->attachment == attachment; }),
             list.end());
}

inline int HeapMapDmaBuf(void* priv, dma_buf_attachment* attachment, dma_data_direction dir,
                         const dma_buf_sg_entry** table, size_t* count) {
  HeapBuffer* b = Buffer(priv);
  auto* a = static_cast<HeapAttachment*>(attachment->priv);
  const unsigned long attrs = b->uncached ? DMA_ATTR_SKIP_CPU_SYNC : 0;
  if (const int rc = dma_map_sgtable(attachment->dev, &a->table, dir, attrs); rc != 0) return rc;
  std::lock_guard guard(b->lock);
  a->mapped = true;
  *table = a->table.dma;
  *count = a->table.nents;
  return 0;
}

inline void HeapUnmapDmaBuf(void* priv, dma_buf_attachment* attachment, dma_data_direction dir) {
  HeapBuffer* b = Buffer(priv);
  auto* a = static_cast<HeapAttachment*>(attachment->priv);
  {
    std::lock_guard guard(b->lock);
    a->mapped = false;
  }
  dma_unmap_sgtable(attachment->dev, &a->table, dir, b->uncached ? DMA_ATTR_SKIP_CPU_SYNC : 0);
}

inline int HeapBeginCpuAccess(void* priv, dma_data_direction dir) {
  HeapBuffer* b = Buffer(priv);
  if (b->uncached) return 0;
  std::lock_guard guard(b->lock);
  for (const auto& a : b->attachments) {
    if (a->mapped) dma_sync_sgtable_for_cpu(a->attachment->dev, &a->table, dir);
  }
  return 0;
}

inline int HeapEndCpuAccess(void* priv, dma_data_direction dir) {
  HeapBuffer* b = Buffer(priv);
  if (b->uncached) return 0;
  std::lock_guard guard(b->lock);
  for (const auto& a : b->attachments) {
    if (a->mapped) dma_sync_sgtable_for_device(a->attachment->dev, &a->table, dir);
  }
  return 0;
}

inline const dma_buf_sg_entry* HeapSgTable(void* priv, size_t* count) {
  HeapBuffer* b = Buffer(priv);
  *count = b->table.size();
  return b->table.data();
}

// The heaps' mmap: the pages go into a shared vma only; a private (copy-on-write) mapping of a
// dma-buf is refused with EINVAL, as the kernel's heaps refuse a vma without VM_SHARED.
inline int HeapMmap(void* /*priv*/, uint64_t /*off*/, uint64_t /*len*/, int /*prot*/, int flags) {
  return (flags & MAP_TYPE) == MAP_PRIVATE ? -EINVAL : 0;
}

// A heap buffer's ops: everything from here but its release (which gives its memory back).
constexpr dma_buf_ops HeapBufOps(void (*release)(void* priv)) {
  return dma_buf_ops{.attach = HeapAttach,
                     .detach = HeapDetach,
                     .map_dma_buf = HeapMapDmaBuf,
                     .unmap_dma_buf = HeapUnmapDmaBuf,
                     .release = release,
                     .begin_cpu_access = HeapBeginCpuAccess,
                     .end_cpu_access = HeapEndCpuAccess,
                     .mmap = HeapMmap,
                     .sg_table = HeapSgTable};
}

}  // namespace dmaheap_heaps

#endif  // DMAHEAP_HEAP_BUFFER_H
