// Swiotlb: the software IO TLB (kernel/dma/swiotlb.c) as dma-direct uses it to bounce a buffer a
// device cannot reach: a pool of 2 KiB slots in low memory, in segments of 128 slots, so one
// bounce is at most 256 KiB. The pool is modelled, not copied through: a bounce takes slots
// (whose physical addresses the device then sees) and the bytes a real kernel would copy are
// counted by the caller.
//
// When a pool exists is the board's business (src/board/: arm64 makes one when RAM reaches past
// the 32-bit DMA zone, or for `swiotlb=force`; `swiotlb=noforce` never does).
//
// Thread-safe: mu_ guards the slots.
#ifndef DMAHEAP_SRC_DMA_SWIOTLB_H
#define DMAHEAP_SRC_DMA_SWIOTLB_H

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "dmaheap/result.h"

namespace dmaheap {

// The pool a System boots with: [base, base + bytes) of modelled RAM, taken from the page
// allocator. bytes == 0: no pool (is_swiotlb_active() is false).
struct SwiotlbConfig {
  uint64_t base = 0;
  uint64_t bytes = 0;
  bool force = false;  // `swiotlb=force`: every streaming mapping bounces
};

class Swiotlb {
 public:
  static constexpr uint64_t kSlotSize = 2048;  // IO_TLB_SIZE
  static constexpr uint64_t kSegmentSlots = 128;  // IO_TLB_SEGSIZE
  static constexpr uint64_t kMaxMapping = kSlotSize * kSegmentSlots;  // 256 KiB
  static constexpr uint64_t kDefaultBytes = uint64_t{64} << 20;  // IO_TLB_DEFAULT_SIZE

  explicit Swiotlb(const SwiotlbConfig& config);
  Swiotlb(const Swiotlb&) = delete;
  Swiotlb& operator=(const Swiotlb&) = delete;

  bool active() const { return slots_ != 0; }
  bool force() const { return config_.force; }
  const SwiotlbConfig& config() const { return config_; }

  // swiotlb_tbl_map_single: slots for `size` bytes (page-aligned slots for a page or more),
  // never crossing a 128-slot segment. The slots' physical address, or EIO after the kernel's
  // warning on stderr ("swiotlb buffer is full (sz: N bytes), total N (slots), used N
  // (slots)", prefixed with `device`) when the pool is full or the mapping above 256 KiB.
  Result<uint64_t> Map(uint64_t size, const std::string& device);
  // Gives back what Map returned.
  void Unmap(uint64_t tlb_addr);

  uint64_t total_slots() const { return slots_; }
  uint64_t used_slots() const;

 private:
  const SwiotlbConfig config_;
  const uint64_t slots_;
  mutable std::mutex mu_;
  std::vector<bool> used_;               // guarded by mu_: one per slot
  std::map<uint64_t, uint64_t> live_;    // guarded by mu_: first slot → slot count
  uint64_t used_count_ = 0;              // guarded by mu_
  uint64_t index_ = 0;                   // guarded by mu_: where the next search starts
};

}  // namespace dmaheap

#endif  // DMAHEAP_SRC_DMA_SWIOTLB_H
