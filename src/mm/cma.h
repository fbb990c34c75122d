// CmaArea: one contiguous memory area (mm/cma.c) inside the modelled RAM: a bitmap with one bit
// per 2^order_per_bit pages, and the kernel's cma_alloc algorithm exactly — alignment mask and
// offset computed from the area's base pfn, first fit from the start of the bitmap via
// bitmap_find_next_zero_area_off — so the same trace of allocations gives the same pfns as on
// Linux (alloc_contig_range cannot fail here: no page of an area is ever handed to the buddy
// allocator, so there is nothing to migrate).
//
// Thread-safe: mu_ guards the bitmap (the kernel's cma->lock).
#ifndef DMAHEAP_SRC_MM_CMA_H
#define DMAHEAP_SRC_MM_CMA_H

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "dmaheap/result.h"

namespace dmaheap {

class CmaArea {
 public:
  CmaArea(const CmaArea&) = delete;
  CmaArea& operator=(const CmaArea&) = delete;

  // `count` pages from `base_pfn`. EINVAL for an empty area, or a count or base that is not a
  // multiple of 2^order_per_bit pages (the kernel requires pageblock alignment, stricter).
  static Result<std::unique_ptr<CmaArea>> Create(std::string name, uint64_t base_pfn,
                                                 uint64_t count, unsigned order_per_bit);

  // cma_alloc(count, align): the first pfn of `count` contiguous pages aligned to 2^align pages
  // (relative to absolute pfns, as in the kernel). ENOMEM when no such range is free; EINVAL for
  // count 0 (the kernel returns NULL).
  Result<uint64_t> Alloc(uint64_t count, unsigned align);

  // cma_release: false (nothing changed) when [pfn, pfn + count) does not start inside the area
  // or runs past its end.
  bool Release(uint64_t pfn, uint64_t count);

  // Takes the exact pages [pfn, pfn + count) (what Alloc once returned for them), for a daemon
  // re-adopting a buffer that outlived its predecessor. EINVAL outside the area or for count 0;
  // EBUSY, with nothing changed, when any of them is taken.
  Result<void> Claim(uint64_t pfn, uint64_t count);
  bool Contains(uint64_t pfn) const { return pfn >= base_pfn_ && pfn - base_pfn_ < count_; }

  const std::string& name() const { return name_; }
  uint64_t base_pfn() const { return base_pfn_; }
  uint64_t count() const { return count_; }
  unsigned order_per_bit() const { return order_per_bit_; }
  // debugfs `used`: pages in use (set bits << order_per_bit).
  uint64_t used() const;
  // debugfs `maxchunk`: the largest free run, in pages.
  uint64_t maxchunk() const;
  // debugfs `bitmap`: the bitmap as 32-bit words, lowest bit first.
  std::vector<uint32_t> BitmapWords() const;

 private:
  CmaArea(std::string name, uint64_t base_pfn, uint64_t count, unsigned order_per_bit);
  uint64_t FindNextBit(uint64_t size, uint64_t start, bool value) const;  // requires mu_
  void SetBits(uint64_t start, uint64_t n, bool value);                  // requires mu_

  const std::string name_;
  const uint64_t base_pfn_;
  const uint64_t count_;
  const unsigned order_per_bit_;
  const uint64_t bits_;  // count_ >> order_per_bit_ (cma_bitmap_maxno)
  mutable std::mutex mu_;
  std::vector<uint64_t> bitmap_;  // guarded by mu_; bit i set == chunk i in use
};

}  // namespace dmaheap

#endif  // DMAHEAP_SRC_MM_CMA_H
