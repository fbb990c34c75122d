#include "kapi/c_ops.h"

#include <cstddef>

#include "base/check.h"

namespace dmaheap {

// An exporter's table is read where it lies: the C entry is the core's entry.
static_assert(sizeof(dma_buf_sg_entry) == sizeof(ScatterEntry) &&
              offsetof(dma_buf_sg_entry, dma_address) == offsetof(ScatterEntry, dma_address) &&
              offsetof(dma_buf_sg_entry, length) == offsetof(ScatterEntry, length));
static_assert(static_cast<int>(DmaDirection::kBidirectional) == DMA_BIDIRECTIONAL &&
              static_cast<int>(DmaDirection::kToDevice) == DMA_TO_DEVICE &&
              static_cast<int>(DmaDirection::kFromDevice) == DMA_FROM_DEVICE);

namespace {

Result<void> Check(int rc) {
  if (rc < 0) return Errno(-rc);
  if (rc > 0) return Errno(EIO);  // a module broke the 0 / -errno contract
  return {};
}

dma_data_direction CDirection(DmaDirection dir) { return static_cast<dma_data_direction>(dir); }

std::span<const ScatterEntry> AsEntries(const dma_buf_sg_entry* table, size_t count) {
  if (table == nullptr) return {};
  return {reinterpret_cast<const ScatterEntry*>(table), count};
}

// The C attachment the module sees, and its device, live beside the core's attachment, in its
// exporter_priv.
struct CAttachmentBox {
  dma_buf_attachment c;
  struct device dev;
};

dma_buf_attachment* CAttachment(DmaBufAttachment& attachment) {
  return &static_cast<CAttachmentBox*>(attachment.exporter_priv)->c;
}

}  // namespace

Result<DmaBufRef> CHeapOps::Allocate(DmaHeap& heap, uint64_t len, uint32_t fd_flags,
                                     uint64_t heap_flags) const {
  struct dma_buf* out = nullptr;
  const int rc = ops_->allocate(CHeap(&heap), len, fd_flags, heap_flags, &out);
  if (rc < 0) return Errno(-rc);
  if (rc > 0 || out == nullptr) return Errno(EIO);  // a module broke the contract
  std::unique_ptr<struct dma_buf> handle(out);
  return std::move(handle->ref);
}

CBufferOps::~CBufferOps() {
  if (armed_) ops_->release(priv_);
}

std::span<const ScatterEntry> CBufferOps::sg_table() const {
  if (ops_->sg_table == nullptr) return {};
  size_t count = 0;
  const dma_buf_sg_entry* table = ops_->sg_table(priv_, &count);
  return AsEntries(table, count);
}

Result<void> CBufferOps::Mmap(const VmaRequest& vma) {
  if (ops_->mmap == nullptr) return Errno(EINVAL);
  return Check(ops_->mmap(priv_, vma.offset, vma.length, vma.prot, vma.flags));
}

Result<void> CBufferOps::BeginCpuAccess(DmaDirection dir) {
  if (ops_->begin_cpu_access == nullptr) return {};
  return Check(ops_->begin_cpu_access(priv_, CDirection(dir)));
}

Result<void> CBufferOps::EndCpuAccess(DmaDirection dir) {
  if (ops_->end_cpu_access == nullptr) return {};
  return Check(ops_->end_cpu_access(priv_, CDirection(dir)));
}

Result<void> CBufferOps::Attach(DmaBufAttachment& attachment) {
  auto box = std::make_unique<CAttachmentBox>();
  box->dev = {attachment.dev, attachment.buffer_stats};
  box->c.dev_name = attachment.device.c_str();  // the core's string outlives the attachment
  box->c.priv = nullptr;
  box->c.dev = &box->dev;
  if (ops_->attach != nullptr) TRY(Check(ops_->attach(priv_, &box->c)));
  attachment.exporter_priv = box.release();
  return {};
}

void CBufferOps::Detach(DmaBufAttachment& attachment) {
  std::unique_ptr<CAttachmentBox> box(static_cast<CAttachmentBox*>(attachment.exporter_priv));
  attachment.exporter_priv = nullptr;
  if (ops_->detach != nullptr) ops_->detach(priv_, &box->c);
}

Result<void> CBufferOps::MapDmaBuf(DmaBufAttachment& attachment, DmaDirection dir) {
  if (ops_->map_dma_buf == nullptr) return DmaBufOps::MapDmaBuf(attachment, dir);
  const dma_buf_sg_entry* table = nullptr;
  size_t count = 0;
  TRY(Check(ops_->map_dma_buf(priv_, CAttachment(attachment), CDirection(dir), &table, &count)));
  const std::span<const ScatterEntry> entries = AsEntries(table, count);
  attachment.table.assign(entries.begin(), entries.end());
  return {};
}

void CBufferOps::UnmapDmaBuf(DmaBufAttachment& attachment, DmaDirection dir) {
  // The core's default unmaps what the core's default mapped; a module's map is its own.
  if (ops_->map_dma_buf == nullptr) return DmaBufOps::UnmapDmaBuf(attachment, dir);
  if (ops_->unmap_dma_buf != nullptr)
    ops_->unmap_dma_buf(priv_, CAttachment(attachment), CDirection(dir));
  attachment.table.clear();
}

}  // namespace dmaheap
