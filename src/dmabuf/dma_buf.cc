#include "dmabuf/dma_buf.h"

#include <fcntl.h>

#include <algorithm>
#include <cstring>
#include <mutex>

#include "base/check.h"

namespace dmaheap {

// The attachments of one buffer (dmabuf->attachments).
struct DmaBuf::Attachments {
  std::vector<std::unique_ptr<DmaBufAttachment>> list;
};

namespace {

// The lock guarding a buffer's name and attachment list: one of a few, chosen by address.
std::mutex& BufferLock(const DmaBuf* buf) {
  static std::mutex locks[16];
  return locks[(reinterpret_cast<uintptr_t>(buf) >> 6) % 16];
}

}  // namespace

DmaBuf::DmaBuf(CreateKey, uint64_t id, DmaBufExportInfo info)
    : id_(id),
      size_(info.size),
      f_flags_(info.flags & O_ACCMODE),
      exporter_(info.exporter),
      ops_(std::move(info.ops)) {
  exporter_->BufferExported(size_);
}

// The release: the exporter's object goes first (it returns the frames), then its reference.
DmaBuf::~DmaBuf() {
  // Attachments still held when the last fd and mapping go (their importer never detached) die
  // with the buffer: the exporter unmaps and detaches each, so its per-attachment state goes too.
  if (attachments_ != nullptr) {
    for (const auto& a : attachments_->list) {
      if (a->mapped) ops_->UnmapDmaBuf(*a, DmaDirection::kBidirectional);
      ops_->Detach(*a);
    }
    attachments_.reset();
  }
  ops_.reset();
  exporter_->BufferReleased(size_);
}

std::string DmaBuf::name() const {
  std::lock_guard lock(BufferLock(this));
  return name_;
}

void DmaBuf::set_name(std::string_view name) {
  DMAHEAP_DCHECK(name.size() < sizeof(name_));
  std::lock_guard lock(BufferLock(this));
  const size_t n = std::min(name.size(), sizeof(name_) - 1);
  std::memcpy(name_, name.data(), n);
  name_[n] = '\0';
}

std::vector<std::string> DmaBuf::attached_devices() const {
  std::lock_guard lock(BufferLock(this));
  std::vector<std::string> out;
  if (attachments_ != nullptr) {
    for (const auto& a : attachments_->list) out.push_back(a->device);
  }
  return out;
}

bool DmaBuf::has_mapped_attachments() const {
  std::lock_guard lock(BufferLock(this));
  if (attachments_ == nullptr) return false;
  return std::any_of(attachments_->list.begin(), attachments_->list.end(),
                     [](const auto& a) { return a->mapped; });
}

Result<void> DmaBuf::CpuAccess(DmaDirection dir, bool end) {
  cpu_accesses_.fetch_add(1, std::memory_order_relaxed);
  return end ? ops_->EndCpuAccess(dir) : ops_->BeginCpuAccess(dir);
}

Result<void> DmaBufMmapCheck(DmaBuf& buf, const VmaRequest& vma) {
  if (!MmapRangeValid(vma.offset, vma.length, buf.size())) return Errno(EINVAL);
  return buf.ops().Mmap(vma);
}

Result<void> DmaBufOps::MapDmaBuf(DmaBufAttachment& attachment, DmaDirection dir) {
  attachment.mapping = TRY(attachment.dev->Map(sg_table(), dir, 0, attachment.buffer_stats));
  attachment.table = attachment.mapping.segments;
  return {};
}

void DmaBufOps::UnmapDmaBuf(DmaBufAttachment& attachment, DmaDirection /*dir*/) {
  attachment.dev->Unmap(attachment.mapping, 0, attachment.buffer_stats);
  attachment.table.clear();
}

Result<DmaBufAttachment*> DmaBufAttach(DmaBuf& buf, DmaDevice& dev) {
  auto attachment = std::make_unique<DmaBufAttachment>();
  attachment->dev = &dev;
  attachment->device = dev.name();
  attachment->buffer_stats = &buf.dma_stats_;
  TRY(buf.ops().Attach(*attachment));
  DmaBufAttachment* raw = attachment.get();
  std::lock_guard lock(BufferLock(&buf));
  if (buf.attachments_ == nullptr) buf.attachments_ = std::make_unique<DmaBuf::Attachments>();
  buf.attachments_->list.push_back(std::move(attachment));
  return raw;
}

void DmaBufDetach(DmaBuf& buf, DmaBufAttachment* attachment) {
  if (attachment->mapped) DmaBufUnmapAttachment(buf, *attachment, DmaDirection::kBidirectional);
  buf.ops().Detach(*attachment);
  std::unique_ptr<DmaBufAttachment> gone;  // destroyed after the lock
  std::lock_guard lock(BufferLock(&buf));
  DMAHEAP_DCHECK(buf.attachments_ != nullptr);
  auto& list = buf.attachments_->list;
  auto it =
      std::find_if(list.begin(), list.end(), [&](const auto& a) { return a.get() == attachment; });
  DMAHEAP_DCHECK(it != list.end());
  gone = std::move(*it);
  list.erase(it);
}

Result<std::span<const ScatterEntry>> DmaBufMapAttachment(DmaBuf& buf, DmaBufAttachment& attachment,
                                                          DmaDirection dir) {
  if (attachment.mapped) return Errno(EBUSY);
  TRY(buf.ops().MapDmaBuf(attachment, dir));
  attachment.mapped = true;
  return std::span<const ScatterEntry>(attachment.table);
}

void DmaBufUnmapAttachment(DmaBuf& buf, DmaBufAttachment& attachment, DmaDirection dir) {
  if (!attachment.mapped) return;
  buf.ops().UnmapDmaBuf(attachment, dir);
  attachment.mapped = false;
}

}  // namespace dmaheap
