// GenPool: lib/genalloc.c's general-purpose special-memory allocator — a pool of chunks, each a
// first-fit bitmap with one bit per 2^min_alloc_order bytes (the carveout heap's allocator, as
// ION's was). gen_pool_first_fit is bitmap_find_next_zero_area with no alignment: exactly
// CmaArea::Alloc with align 0, so each chunk is a CmaArea over "frames" of 2^min_alloc_order
// bytes. Addresses are modelled physical addresses; 0 is never a valid allocation.
//
// Thread-safe: mu_ guards the chunk list; each chunk locks its own bitmap.
#ifndef DMAHEAP_SRC_MM_GENALLOC_H
#define DMAHEAP_SRC_MM_GENALLOC_H

#include <cstdint>
#include <memory>
#include <mutex>
#include <vector>

#include "dmaheap/result.h"
#include "mm/cma.h"

namespace dmaheap {

class GenPool {
 public:
  GenPool(const GenPool&) = delete;
  GenPool& operator=(const GenPool&) = delete;

  // gen_pool_create: EINVAL for an order outside 0..30.
  static Result<std::unique_ptr<GenPool>> Create(int min_alloc_order);

  // gen_pool_add: [addr, addr + size) as a new chunk. EINVAL for an empty range or one off the
  // pool's granule; ENOMEM when the bitmap cannot be allocated.
  Result<void> Add(uint64_t addr, uint64_t size);
  // gen_pool_alloc: `size` rounded up to whole granules, first fit over the chunks in the order
  // they were added. ENOMEM when no chunk has the room; EINVAL for size 0.
  Result<uint64_t> Alloc(uint64_t size);
  // gen_pool_free: gives back what Alloc returned (same address and size).
  void Free(uint64_t addr, uint64_t size);
  // Takes the exact granules of [addr, addr + size) (what Alloc once returned), for a daemon
  // re-adopting a buffer: EINVAL when no chunk holds addr, EBUSY when any of them is taken.
  Result<void> Claim(uint64_t addr, uint64_t size);
  bool Contains(uint64_t addr) const;
  // The live pools (of every System in this process) with a chunk holding `addr`.
  static std::vector<GenPool*> PoolsContaining(uint64_t addr);
  ~GenPool();

  // Free bytes and total bytes over every chunk.
  uint64_t avail() const;
  uint64_t size() const;

 private:
  explicit GenPool(unsigned order);
  uint64_t Granules(uint64_t size) const { return (size + (uint64_t{1} << order_) - 1) >> order_; }

  const unsigned order_;
  mutable std::mutex mu_;
  std::vector<std::unique_ptr<CmaArea>> chunks_;  // guarded by mu_
};

}  // namespace dmaheap

#endif  // DMAHEAP_SRC_MM_GENALLOC_H
