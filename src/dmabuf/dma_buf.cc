#include "dmabuf/dma_buf.h"

#include <fcntl.h>
#include <sys/mman.h>

#include <algorithm>
#include <cstring>

#include "base/check.h"
#include "dmaheap/uapi/linux/dma-buf.h"
#include "dmabuf/dma_buf_rules.h"
#include "heap/dma_heap.h"
#include "platform/sys.h"

namespace dmaheap {

// kernel-facts.md §12, as the rules compute it.
static_assert(ValidSyncFlags(0x1) && ValidSyncFlags(0x3) && ValidSyncFlags(0x6) &&
              ValidSyncFlags(0x7) && !ValidSyncFlags(0x0) && !ValidSyncFlags(0x8) &&
              !ValidSyncFlags(0xb));
static_assert(MmapRangeValid(0, 16384, 16384) && MmapRangeValid(12288, 4096, 16384) &&
              !MmapRangeValid(16384, 4096, 16384) && !MmapRangeValid(12288, 8192, 16384) &&
              !MmapRangeValid(0, 20480, 16384) && !MmapRangeValid(0, 0, 4096));

DmaBuf::DmaBuf(CreateKey, uint64_t id, DmaBufExportInfo info, Owner owner)
    : id_(id),
      size_(info.size),
      f_flags_(info.flags & O_ACCMODE),
      heap_(info.heap),
      owner_(owner),
      ops_(std::move(info.ops)) {
  if (HeapOwner* owner = heap_->owner()) owner->refs.fetch_add(1);
  HeapCounters& c = heap_->counters();
  c.live_buffers.fetch_add(1, std::memory_order_relaxed);
  uint64_t live = c.live_bytes.fetch_add(size_, std::memory_order_relaxed) + size_;
  uint64_t peak = c.peak_bytes.load(std::memory_order_relaxed);
  while (live > peak && !c.peak_bytes.compare_exchange_weak(peak, live)) {
  }
}

// The release: the exporter's object goes first (it returns the frames), then the counters.
DmaBuf::~DmaBuf() {
  ops_.reset();
  HeapCounters& c = heap_->counters();
  c.live_buffers.fetch_sub(1, std::memory_order_relaxed);
  c.live_bytes.fetch_sub(size_, std::memory_order_relaxed);
  if (HeapOwner* owner = heap_->owner()) owner->refs.fetch_sub(1);
}

const std::string& DmaBuf::exp_name() const { return heap_->name(); }

namespace {

// The lock guarding a buffer's name: one of a few, chosen by address.
std::mutex& NameLock(const DmaBuf* buf) {
  static std::mutex locks[16];
  return locks[(reinterpret_cast<uintptr_t>(buf) >> 6) % 16];
}

}  // namespace

std::string DmaBuf::name() const {
  std::lock_guard lock(NameLock(this));
  return name_;
}

void DmaBuf::set_name(std::string name) {
  DMAHEAP_DCHECK(name.size() < sizeof(name_));
  std::lock_guard lock(NameLock(this));
  const size_t n = std::min(name.size(), sizeof(name_) - 1);
  std::memcpy(name_, name.data(), n);
  name_[n] = '\0';
}

Result<UniqueFd> DmaBufFd(DmaBuf& buf, uint32_t fd_flags) {
  if (!buf.file_) return Errno(EBUSY);
  UniqueFd creator = std::move(buf.file_);
  const int accmode = static_cast<int>(fd_flags & O_ACCMODE);
  const bool cloexec = (fd_flags & O_CLOEXEC) != 0;
  if (accmode == O_RDWR) {
    // The memfd was created O_RDWR|O_CLOEXEC: only the close-on-exec bit may need changing.
    if (!cloexec) TRY(sys::SetCloexec(creator.get(), false));
    return creator;
  }
  // A new open file description with exactly the requested access mode; the creator's
  // read-write fd is closed when `creator` goes out of scope.
  return sys::Reopen(creator.get(), accmode | (cloexec ? O_CLOEXEC : 0));
}

Result<DmaDirection> DmaBufSyncFlags(uint64_t flags) {
  if (!ValidSyncFlags(flags)) return Errno(EINVAL);
  switch (flags & DMA_BUF_SYNC_RW) {
    case DMA_BUF_SYNC_READ:
      return DmaDirection::kFromDevice;
    case DMA_BUF_SYNC_WRITE:
      return DmaDirection::kToDevice;
    case DMA_BUF_SYNC_RW:
      return DmaDirection::kBidirectional;
    default:
      return Errno(EINVAL);
  }
}

Result<void> DmaBufSync(DmaBuf& buf, uint64_t flags) {
  const DmaDirection dir = TRY(DmaBufSyncFlags(flags));
  buf.count_cpu_access();
  if ((flags & DMA_BUF_SYNC_END) != 0) return buf.ops().EndCpuAccess(dir);
  return buf.ops().BeginCpuAccess(dir);
}

Result<void> DmaBufMmapCheck(DmaBuf& buf, const VmaRequest& vma) {
  if (!MmapRangeValid(vma.offset, vma.length, buf.size())) return Errno(EINVAL);
  return buf.ops().Mmap(vma);
}

}  // namespace dmaheap
