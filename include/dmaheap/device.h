// Devices of a booted System — the importers a board declares (a display, a codec, vgem) — and
// what an importer holds: an Attachment, a buffer attached to a device and mapped for its DMA,
// as dma_buf_attach + dma_buf_map_attachment leave it. See DmaDeviceInfo for the constraints
// and README "Devices" for the rules the mappings follow.
//
// C++17-compatible.
#ifndef DMAHEAP_DEVICE_H
#define DMAHEAP_DEVICE_H

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "dmaheap/api.h"
#include "dmaheap/unique_fd.h"

namespace dmaheap {

// enum dma_data_direction.
enum class DmaDataDirection { kBidirectional = 0, kToDevice = 1, kFromDevice = 2 };

// One DMA segment as the device sees it: a bus address (DMA address or IOVA) and a length.
struct DmaSegment {
  uint64_t address = 0;
  uint64_t length = 0;
  bool operator==(const DmaSegment& o) const { return address == o.address && length == o.length; }
};

// What the DMA API did for a device or a buffer: maps, cache maintenance (syncs and bytes, for
// non-coherent devices), swiotlb bounces.
struct DmaStatsInfo {
  uint64_t maps = 0;
  uint64_t map_errors = 0;
  uint64_t unmaps = 0;
  uint64_t syncs_for_cpu = 0;
  uint64_t syncs_for_device = 0;
  uint64_t bytes_synced = 0;
  uint64_t bounces = 0;
  uint64_t bytes_bounced = 0;
};

struct DmaDeviceInfo {
  std::string name;
  bool iommu = false;            // behind an IOMMU: every mapping is one IOVA range
  std::string iommu_name;
  unsigned iova_bits = 0;
  uint64_t dma_limit = 0;        // the highest bus address it reaches: min(mask, bus limit)
  uint64_t dma_offset = 0;       // CPU physical − bus address (dma-ranges)
  bool coherent = false;         // CPU access needs no cache maintenance
  bool needs_contiguous = false; // its importer takes only one DMA-contiguous range
  uint64_t max_segment_size = 0;
  bool vgem = false;
  DmaStatsInfo stats;
};

// A buffer attached to a device and mapped; detached (unmapped first) on destruction or reset().
// Move-only. The System or Client that made it detaches what is left when it goes; an
// Attachment outliving it then has nothing to do.
class DMAHEAP_API Attachment {
 public:
  // Who detaches: the System's or the daemon connection's import table.
  class Owner {
   public:
    virtual void Detach(uint64_t id) noexcept = 0;

   protected:
    ~Owner() = default;
  };

  Attachment() = default;
  Attachment(std::weak_ptr<Owner> owner, uint64_t id, std::string device,
             std::vector<DmaSegment> segments);
  Attachment(Attachment&& other) noexcept;
  Attachment& operator=(Attachment&& other) noexcept;
  Attachment(const Attachment&) = delete;
  Attachment& operator=(const Attachment&) = delete;
  ~Attachment();

  bool valid() const { return !owner_.expired(); }
  const std::string& device() const { return device_; }
  const std::vector<DmaSegment>& segments() const { return segments_; }
  void reset();

 private:
  std::weak_ptr<Owner> owner_;
  uint64_t id_ = 0;
  std::string device_;
  std::vector<DmaSegment> segments_;
};

// AllocateFor's answer: the buffer, the heap it came from, and why (one line per device).
struct HeapChoice {
  UniqueFd fd;
  std::string heap;
  std::string why;
};

}  // namespace dmaheap

#endif  // DMAHEAP_DEVICE_H
