// IovaDomain: the I/O virtual address space of one IOMMU domain (drivers/iommu/iova.c), as
// iommu-dma allocates from it: granule-sized pages, pfn 0 never handed out, each allocation
// taken top-down below the caller's limit and aligned to its size rounded up to a power of two
// (alloc_iova with size_aligned); sizes below 32 granules are first rounded up to a power of two
// (alloc_iova_fast). The per-CPU range caches of alloc_iova_fast are not modelled:
// a freed range is simply free again, so addresses depend only on what is live.
//
// Thread-safe: mu_ guards the ranges.
#ifndef DMAHEAP_SRC_DMA_IOVA_H
#define DMAHEAP_SRC_DMA_IOVA_H

#include <cstdint>
#include <map>
#include <mutex>

#include "dmaheap/result.h"

namespace dmaheap {

class IovaDomain {
 public:
  // IOVAs [granule, 2^bits) in pages of `granule` bytes (a power of two).
  IovaDomain(unsigned bits, uint64_t granule);
  IovaDomain(const IovaDomain&) = delete;
  IovaDomain& operator=(const IovaDomain&) = delete;

  // `size` bytes (rounded up to whole granules) at the highest suitably aligned free address
  // whose range ends at or below `limit` (an inclusive address). ENOMEM when none is free.
  Result<uint64_t> Alloc(uint64_t size, uint64_t limit);
  // Gives back a range Alloc returned (same address; its size is remembered).
  void Free(uint64_t iova);

  uint64_t granule() const { return granule_; }
  uint64_t end() const { return end_; }  // one past the highest IOVA
  uint64_t bytes_in_use() const;

 private:
  const uint64_t granule_;
  const uint64_t end_;
  mutable std::mutex mu_;
  std::map<uint64_t, uint64_t> live_;  // guarded by mu_: start → size in bytes
};

}  // namespace dmaheap

#endif  // DMAHEAP_SRC_DMA_IOVA_H
