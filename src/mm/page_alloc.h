// PageAllocator: the modelled physical memory of one System and its buddy allocator
// (the counterpart of mm/page_alloc.c).
//
// The memory is a range of page frames [base_pfn, base_pfn + nr_pages), 4 KiB each. Nothing of
// the host is reserved for it: page frames are numbers, and a buffer's host memory is its memfd.
// The allocator hands out naturally aligned blocks of 2^order frames, order 0..kMaxOrder
// (kMaxOrder = 10: 4 MiB blocks, Linux's MAX_PAGE_ORDER on 4 KiB pages). A free block of order k
// at frame p has its buddy at p ^ (1 << k); freeing merges with a free buddy of the same order
// until the buddy is busy, outside the range, or the order reaches kMaxOrder.
//
// Exhaustion is ENOMEM, never a host OOM: requests are checked against these counts before any
// host memory is touched.
//
// Thread-safe: every public method takes mu_.
#ifndef DMAHEAP_SRC_MM_PAGE_ALLOC_H
#define DMAHEAP_SRC_MM_PAGE_ALLOC_H

#include <array>
#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "dmaheap/result.h"

namespace dmaheap {

inline constexpr unsigned kMaxOrder = 10;

struct PageBlock {
  uint64_t pfn;    // first frame, aligned to 1 << order
  unsigned order;  // 2^order frames
};

class PageAllocator {
 public:
  PageAllocator(const PageAllocator&) = delete;
  PageAllocator& operator=(const PageAllocator&) = delete;

  // `nr_pages` frames from `base_pfn`. EINVAL for an empty range or one past 2^32 frames
  // (16 TiB of modelled RAM, far beyond any board).
  static Result<std::unique_ptr<PageAllocator>> Create(uint64_t base_pfn, uint64_t nr_pages);

  // One block of 2^order frames; ENOMEM when no block of that order or above is free,
  // EINVAL for order > kMaxOrder.
  Result<uint64_t> AllocPages(unsigned order);

  // Returns a block from AllocPages (same pfn and order).
  void FreePages(uint64_t pfn, unsigned order);

  // Takes the exact frames [pfn, pfn + count) out of the allocator for good (a board's CMA area
  // or carveout, reserved at boot as memblock does). EINVAL for an empty range or one outside
  // the RAM; EBUSY, with nothing changed, if any of the frames is not free.
  Result<void> Reserve(uint64_t pfn, uint64_t count);

  uint64_t base_pfn() const { return base_pfn_; }
  uint64_t total_pages() const { return nr_pages_; }
  uint64_t free_pages() const;
  // Free blocks per order, like the columns of /proc/buddyinfo.
  std::array<uint64_t, kMaxOrder + 1> FreeBlocks() const;

 private:
  // Per frame: links of the free list it heads (only meaningful for a free block's first frame).
  struct Frame {
    uint32_t next;
    uint32_t prev;
    // 1 + the order of the free block this frame heads; 0 == not a free block head (so the
    // zero-filled initial array means "nothing free" without touching every frame).
    uint8_t head;
  };
  static constexpr uint32_t kNil = UINT32_MAX;

  PageAllocator(uint64_t base_pfn, uint64_t nr_pages);

  void PushFree(uint32_t idx, unsigned order);   // requires mu_
  void RemoveFree(uint32_t idx, unsigned order); // requires mu_
  void FreeLocked(uint32_t idx, unsigned order); // requires mu_
  // The free block holding frame `pfn`: its head pfn and order, or false. Requires mu_.
  bool ContainingFreeBlock(uint64_t pfn, uint64_t* head, unsigned* order) const;
  // Frees [lo, hi) as maximal aligned blocks, without merging. Requires mu_.
  void AddRange(uint64_t lo, uint64_t hi);
  bool IsFreeHead(uint32_t idx, unsigned order) const {
    return frames_[idx].head == order + 1;
  }

  const uint64_t base_pfn_;
  const uint64_t nr_pages_;
  mutable std::mutex mu_;
  std::vector<Frame> frames_;                     // guarded by mu_; index = pfn - base_pfn_
  std::array<uint32_t, kMaxOrder + 1> heads_;     // guarded by mu_; kNil == empty list
  std::array<uint64_t, kMaxOrder + 1> counts_{};  // guarded by mu_; free blocks per order
  uint64_t free_pages_ = 0;                       // guarded by mu_
};

}  // namespace dmaheap

#endif  // DMAHEAP_SRC_MM_PAGE_ALLOC_H
