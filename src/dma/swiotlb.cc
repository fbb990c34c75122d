#include "dma/swiotlb.h"

#include <cinttypes>
#include <cstdio>

#include "base/check.h"

namespace dmaheap {

Swiotlb::Swiotlb(const SwiotlbConfig& config)
    : config_(config), slots_(config.bytes / kSlotSize), used_(slots_, false) {}

Result<uint64_t> Swiotlb::Map(uint64_t size, const std::string& device) {
  const uint64_t nslots = (size + kSlotSize - 1) / kSlotSize;
  // A page or more starts on a page (the stride of swiotlb_find_slots); the pool is page-aligned.
  const uint64_t stride = size >= 4096 ? 4096 / kSlotSize : 1;
  std::lock_guard lock(mu_);
  if (size != 0 && size <= kMaxMapping && nslots <= slots_) {
    // First fit from where the last search ended (the area index), wrapping once.
    const uint64_t start = index_ - index_ % stride;
    for (uint64_t n = 0; n < slots_; n += stride) {
      const uint64_t i = (start + n) % slots_;
      if (i % stride != 0 || i + nslots > slots_) continue;
      // The run must not cross a segment.
      if (i / kSegmentSlots != (i + nslots - 1) / kSegmentSlots) continue;
      bool free = true;
      for (uint64_t s = i; s < i + nslots && free; ++s) free = !used_[s];
      if (!free) continue;
      for (uint64_t s = i; s < i + nslots; ++s) used_[s] = true;
      live_.emplace(i, nslots);
      used_count_ += nslots;
      index_ = (i + nslots) % slots_;
      return config_.base + i * kSlotSize;
    }
  }
  std::fprintf(stderr,
               "dmaheap: %s: swiotlb buffer is full (sz: %" PRIu64 " bytes), total %" PRIu64
               " (slots), used %" PRIu64 " (slots)\n",
               device.c_str(), size, slots_, used_count_);
  return Errno(EIO);
}

void Swiotlb::Unmap(uint64_t tlb_addr) {
  std::lock_guard lock(mu_);
  const uint64_t first = (tlb_addr - config_.base) / kSlotSize;
  auto it = live_.find(first);
  DMAHEAP_CHECK(it != live_.end());
  for (uint64_t s = first; s < first + it->second; ++s) used_[s] = false;
  used_count_ -= it->second;
  live_.erase(it);
}

uint64_t Swiotlb::used_slots() const {
  std::lock_guard lock(mu_);
  return used_count_;
}

}  // namespace dmaheap
