#include "dma/iova.h"

#include <bit>

#include "base/check.h"

namespace dmaheap {

IovaDomain::IovaDomain(unsigned bits, uint64_t granule)
    : granule_(granule), end_(bits >= 64 ? ~uint64_t{0} : uint64_t{1} << bits) {
  DMAHEAP_DCHECK(std::has_single_bit(granule));
}

Result<uint64_t> IovaDomain::Alloc(uint64_t size, uint64_t limit) {
  if (size == 0) return Errno(EINVAL);
  uint64_t pages = (size + granule_ - 1) / granule_;
  // alloc_iova_fast rounds sizes its range caches serve (below 32 granules) up to a power of two.
  if (pages < 32) pages = std::bit_ceil(pages);
  const uint64_t bytes = pages * granule_;
  // alloc_iova's size alignment: the range starts on a multiple of the size rounded up to a
  // power of two (in granules).
  const uint64_t align = std::bit_ceil(pages) * granule_;
  uint64_t top = limit >= end_ - 1 ? end_ : limit + 1;  // exclusive end of the search
  std::lock_guard lock(mu_);
  // Walk the live ranges from the top down; each gap below `top` is tried highest first.
  auto it = live_.lower_bound(top);
  for (;;) {
    uint64_t gap_start = granule_;  // pfn 0 is never an IOVA
    if (it != live_.begin()) {
      auto prev = std::prev(it);
      gap_start = std::max(gap_start, prev->first + prev->second);
      if (prev->first + prev->second > top) {  // the range straddles `top`
        top = prev->first;
        it = prev;
        continue;
      }
    }
    if (top >= bytes) {
      const uint64_t start = (top - bytes) & ~(align - 1);
      if (start >= gap_start && start + bytes <= top) {
        live_.emplace(start, bytes);
        return start;
      }
    }
    if (it == live_.begin()) return Errno(ENOMEM);
    --it;
    top = it->first;
  }
}

void IovaDomain::Free(uint64_t iova) {
  std::lock_guard lock(mu_);
  const size_t erased = live_.erase(iova);
  DMAHEAP_DCHECK(erased == 1);
  (void)erased;
}

uint64_t IovaDomain::bytes_in_use() const {
  std::lock_guard lock(mu_);
  uint64_t total = 0;
  for (const auto& [start, bytes] : live_) total += bytes;
  return total;
}

}  // namespace dmaheap
