#include "mm/page_alloc.h"

#include <algorithm>

#include "base/check.h"

namespace dmaheap {

Result<std::unique_ptr<PageAllocator>> PageAllocator::Create(uint64_t base_pfn,
                                                             uint64_t nr_pages) {
  if (nr_pages == 0 || nr_pages >= PageAllocator::kNil) return Errno(EINVAL);
  if (base_pfn + nr_pages < base_pfn) return Errno(EINVAL);
  return std::unique_ptr<PageAllocator>(new PageAllocator(base_pfn, nr_pages));
}

// The frame array is value-initialised by one large allocation (the host zero-fills it lazily),
// then only block heads are written: booting 4 GiB of modelled RAM touches 1024 frames.
PageAllocator::PageAllocator(uint64_t base_pfn, uint64_t nr_pages)
    : base_pfn_(base_pfn), nr_pages_(nr_pages), frames_(nr_pages) {
  heads_.fill(kNil);
  // Cover the range with maximal naturally aligned blocks (alignment is by absolute pfn, as in
  // Linux, so modelled addresses of an order-k block are 2^k-page aligned).
  uint64_t pfn = base_pfn;
  const uint64_t end = base_pfn + nr_pages;
  std::lock_guard lock(mu_);
  while (pfn < end) {
    unsigned order = kMaxOrder;
    while ((pfn & ((uint64_t{1} << order) - 1)) != 0 || pfn + (uint64_t{1} << order) > end)
      --order;
    PushFree(static_cast<uint32_t>(pfn - base_pfn), order);
    free_pages_ += uint64_t{1} << order;
    pfn += uint64_t{1} << order;
  }
  DMAHEAP_DCHECK(free_pages_ == nr_pages_);
}

void PageAllocator::PushFree(uint32_t idx, unsigned order) {
  Frame& f = frames_[idx];
  f.head = static_cast<uint8_t>(order + 1);
  f.prev = kNil;
  f.next = heads_[order];
  if (f.next != kNil) frames_[f.next].prev = idx;
  heads_[order] = idx;
  ++counts_[order];
}

void PageAllocator::RemoveFree(uint32_t idx, unsigned order) {
  Frame& f = frames_[idx];
  DMAHEAP_DCHECK(f.head == order + 1);
  if (f.prev != kNil) {
    frames_[f.prev].next = f.next;
  } else {
    heads_[order] = f.next;
  }
  if (f.next != kNil) frames_[f.next].prev = f.prev;
  f.head = 0;
  f.next = f.prev = kNil;
  DMAHEAP_DCHECK(counts_[order] > 0);
  --counts_[order];
}

Result<uint64_t> PageAllocator::AllocPages(unsigned order) {
  if (order > kMaxOrder) return Errno(EINVAL);
  std::lock_guard lock(mu_);
  unsigned k = order;
  while (k <= kMaxOrder && heads_[k] == kNil) ++k;
  if (k > kMaxOrder) return Errno(ENOMEM);
  uint32_t idx = heads_[k];
  RemoveFree(idx, k);
  // Split: keep the lower half, give the upper half back at each step down.
  while (k > order) {
    --k;
    PushFree(idx + (uint32_t{1} << k), k);
  }
  free_pages_ -= uint64_t{1} << order;
  DMAHEAP_DCHECK(frames_[idx].head == 0);
  return base_pfn_ + idx;
}

void PageAllocator::FreePages(uint64_t pfn, unsigned order) {
  DMAHEAP_CHECK(order <= kMaxOrder && pfn >= base_pfn_ &&
                pfn + (uint64_t{1} << order) <= base_pfn_ + nr_pages_);
  DMAHEAP_CHECK((pfn & ((uint64_t{1} << order) - 1)) == 0);
  std::lock_guard lock(mu_);
  FreeLocked(static_cast<uint32_t>(pfn - base_pfn_), order);
}

// Basic algorithm: while the buddy (pfn ^ 2^order) lies in range and heads a free block of the
// same order, unlink it and continue one order up from the lower of the two; then push the
// merged block.
void PageAllocator::FreeLocked(uint32_t idx, unsigned order) {
  DMAHEAP_CHECK(frames_[idx].head == 0);  // double free or a pfn that was never handed out
  free_pages_ += uint64_t{1} << order;
  uint64_t pfn = base_pfn_ + idx;
  while (order < kMaxOrder) {
    uint64_t buddy_pfn = pfn ^ (uint64_t{1} << order);
    if (buddy_pfn < base_pfn_ || buddy_pfn + (uint64_t{1} << order) > base_pfn_ + nr_pages_)
      break;
    auto buddy = static_cast<uint32_t>(buddy_pfn - base_pfn_);
    if (!IsFreeHead(buddy, order)) break;
    RemoveFree(buddy, order);
    pfn &= ~(uint64_t{1} << order);
    ++order;
  }
  PushFree(static_cast<uint32_t>(pfn - base_pfn_), order);
  DMAHEAP_DCHECK(free_pages_ <= nr_pages_);
}

bool PageAllocator::ContainingFreeBlock(uint64_t pfn, uint64_t* head, unsigned* order) const {
  for (unsigned k = 0; k <= kMaxOrder; ++k) {
    const uint64_t h = pfn & ~((uint64_t{1} << k) - 1);
    if (h < base_pfn_ || h + (uint64_t{1} << k) > base_pfn_ + nr_pages_) break;
    if (IsFreeHead(static_cast<uint32_t>(h - base_pfn_), k)) {
      *head = h;
      *order = k;
      return true;
    }
  }
  return false;
}

void PageAllocator::AddRange(uint64_t lo, uint64_t hi) {
  while (lo < hi) {
    unsigned k = kMaxOrder;
    while ((lo & ((uint64_t{1} << k) - 1)) != 0 || lo + (uint64_t{1} << k) > hi) --k;
    PushFree(static_cast<uint32_t>(lo - base_pfn_), k);
    free_pages_ += uint64_t{1} << k;
    lo += uint64_t{1} << k;
  }
}

// Basic algorithm: first check that every frame lies in a free block; then, block by block,
// unlink the free block, and give back the parts of it outside the reserved range.
Result<void> PageAllocator::Reserve(uint64_t pfn, uint64_t count) {
  const uint64_t end = pfn + count;
  if (count == 0 || end < pfn || pfn < base_pfn_ || end > base_pfn_ + nr_pages_)
    return Errno(EINVAL);
  std::lock_guard lock(mu_);
  for (uint64_t f = pfn; f < end;) {
    uint64_t head;
    unsigned order;
    if (!ContainingFreeBlock(f, &head, &order)) return Errno(EBUSY);
    f = head + (uint64_t{1} << order);
  }
  for (uint64_t f = pfn; f < end;) {
    uint64_t head;
    unsigned order;
    DMAHEAP_CHECK(ContainingFreeBlock(f, &head, &order));
    const uint64_t block_end = head + (uint64_t{1} << order);
    RemoveFree(static_cast<uint32_t>(head - base_pfn_), order);
    free_pages_ -= uint64_t{1} << order;
    AddRange(head, std::max(head, pfn));
    AddRange(std::min(end, block_end), block_end);
    f = block_end;
  }
  DMAHEAP_DCHECK(free_pages_ <= nr_pages_ - count);
  return {};
}

uint64_t PageAllocator::free_pages() const {
  std::lock_guard lock(mu_);
  return free_pages_;
}

std::array<uint64_t, kMaxOrder + 1> PageAllocator::FreeBlocks() const {
  std::lock_guard lock(mu_);
  return counts_;
}

}  // namespace dmaheap
