#include "mm/cma.h"

#include <algorithm>

#include "base/check.h"

namespace dmaheap {

Result<std::unique_ptr<CmaArea>> CmaArea::Create(std::string name, uint64_t base_pfn,
                                                 uint64_t count, unsigned order_per_bit) {
  const uint64_t chunk = uint64_t{1} << order_per_bit;
  if (count == 0 || order_per_bit > 20 || count % chunk != 0 || base_pfn % chunk != 0)
    return Errno(EINVAL);
  return std::unique_ptr<CmaArea>(new CmaArea(std::move(name), base_pfn, count, order_per_bit));
}

CmaArea::CmaArea(std::string name, uint64_t base_pfn, uint64_t count, unsigned order_per_bit)
    : name_(std::move(name)),
      base_pfn_(base_pfn),
      count_(count),
      order_per_bit_(order_per_bit),
      bits_(count >> order_per_bit),
      bitmap_((bits_ + 63) / 64, 0) {}

// find_next_bit / find_next_zero_bit: the first index ≥ start below size whose bit equals
// `value`, or size. Word at a time.
uint64_t CmaArea::FindNextBit(uint64_t size, uint64_t start, bool value) const {
  while (start < size) {
    uint64_t word = bitmap_[start / 64];
    if (!value) word = ~word;
    word &= ~uint64_t{0} << (start % 64);
    if (word != 0) return std::min(size, (start & ~uint64_t{63}) + __builtin_ctzll(word));
    start = (start & ~uint64_t{63}) + 64;
  }
  return size;
}

void CmaArea::SetBits(uint64_t start, uint64_t n, bool value) {
  for (uint64_t i = start; i < start + n; ++i) {
    const uint64_t bit = uint64_t{1} << (i % 64);
    if (value) {
      bitmap_[i / 64] |= bit;
    } else {
      bitmap_[i / 64] &= ~bit;
    }
  }
}

Result<uint64_t> CmaArea::Alloc(uint64_t count, unsigned align) {
  if (count == 0) return Errno(EINVAL);
  // cma_bitmap_aligned_mask / _offset / cma_bitmap_pages_to_bits.
  const uint64_t mask =
      align <= order_per_bit_ ? 0 : (uint64_t{1} << (align - order_per_bit_)) - 1;
  const uint64_t offset =
      (base_pfn_ & ((uint64_t{1} << std::min(align, 63u)) - 1)) >> order_per_bit_;
  const uint64_t chunk = uint64_t{1} << order_per_bit_;
  const uint64_t nr = (count + chunk - 1) >> order_per_bit_;
  if (nr > bits_) return Errno(ENOMEM);

  std::lock_guard lock(mu_);
  // bitmap_find_next_zero_area_off(bitmap, bits_, 0, nr, mask, offset).
  uint64_t start = 0;
  for (;;) {
    uint64_t index = FindNextBit(bits_, start, /*value=*/false);
    index = ((index + offset + mask) & ~mask) - offset;  // __ALIGN_MASK(index + offset) - offset
    const uint64_t end = index + nr;
    if (end > bits_) return Errno(ENOMEM);
    const uint64_t busy = FindNextBit(end, index, /*value=*/true);
    if (busy < end) {
      start = busy + 1;
      continue;
    }
    SetBits(index, nr, true);
    DMAHEAP_DCHECK(FindNextBit(end, index, false) == end);
    return base_pfn_ + (index << order_per_bit_);
  }
}

bool CmaArea::Release(uint64_t pfn, uint64_t count) {
  if (count == 0 || pfn < base_pfn_ || pfn >= base_pfn_ + count_ || count > count_ ||
      pfn + count > base_pfn_ + count_) {
    return false;
  }
  const uint64_t chunk = uint64_t{1} << order_per_bit_;
  std::lock_guard lock(mu_);
  SetBits((pfn - base_pfn_) >> order_per_bit_, (count + chunk - 1) >> order_per_bit_, false);
  return true;
}

Result<void> CmaArea::Claim(uint64_t pfn, uint64_t count) {
  if (count == 0 || !Contains(pfn) || count > count_ - (pfn - base_pfn_)) return Errno(EINVAL);
  const uint64_t chunk = uint64_t{1} << order_per_bit_;
  const uint64_t first = (pfn - base_pfn_) >> order_per_bit_;
  const uint64_t nr = (count + chunk - 1) >> order_per_bit_;
  std::lock_guard lock(mu_);
  if (FindNextBit(first + nr, first, /*value=*/true) < first + nr) return Errno(EBUSY);
  SetBits(first, nr, true);
  return {};
}

uint64_t CmaArea::used() const {
  std::lock_guard lock(mu_);
  uint64_t bits = 0;
  for (uint64_t w : bitmap_) bits += static_cast<uint64_t>(__builtin_popcountll(w));
  return bits << order_per_bit_;
}

uint64_t CmaArea::maxchunk() const {
  std::lock_guard lock(mu_);
  uint64_t best = 0;
  for (uint64_t start = FindNextBit(bits_, 0, false); start < bits_;) {
    const uint64_t end = FindNextBit(bits_, start, true);
    best = std::max(best, end - start);
    start = FindNextBit(bits_, end, false);
  }
  return best << order_per_bit_;
}

std::vector<uint32_t> CmaArea::BitmapWords() const {
  std::lock_guard lock(mu_);
  std::vector<uint32_t> out((bits_ + 31) / 32);
  for (size_t i = 0; i < out.size(); ++i)
    out[i] = static_cast<uint32_t>(bitmap_[i / 2] >> (32 * (i % 2)));
  return out;
}

}  // namespace dmaheap
