// DmaDevice: one device as the DMA API sees it (struct device's DMA fields, kernel/dma/ and
// drivers/iommu/dma-iommu.c), and its streaming mappings of scatter lists: dma_map_sgtable,
// dma_unmap_sgtable, dma_sync_sgtable_for_cpu / _for_device.
//
// Without an IOMMU (dma-direct) each page entry maps on its own: DMA address = physical − the
// bus offset of dma-ranges; an entry the device cannot reach (past min(mask, bus limit)) is
// bounced through the swiotlb when the System has one, else the map fails with EIO and the
// kernel's "DMA addr … overflow" warning. Entries are never merged.
// With an IOMMU the whole list takes one IOVA range of the device's own domain (top-down below
// the mask), and consecutive entries merge into segments of at most max_seg_size; IOVA
// exhaustion is ENOMEM.
// Cache maintenance (arm64's arch_sync_dma_*) is done only for a non-coherent device and not
// under DMA_ATTR_SKIP_CPU_SYNC; nothing is really cleaned or bounced (the device is a model),
// but what a kernel would do is counted in DmaStats: per device, and per buffer when the caller
// passes the buffer's.
//
// Thread-safe: the IOVA domain and the swiotlb lock themselves; the counters are atomic.
#ifndef DMAHEAP_SRC_DMA_DMA_DEVICE_H
#define DMAHEAP_SRC_DMA_DMA_DEVICE_H

#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <string>

#include "dma/dma_types.h"
#include "dma/iova.h"
#include "dma/swiotlb.h"
#include "dmaheap/result.h"

namespace dmaheap {

struct DmaDeviceSpec {
  std::string name;
  uint64_t dma_mask = DmaBitMask(32);  // *dev->dma_mask, as the driver set it
  // dma-ranges (dev->dma_range_map, one entry): bus [bus_start, bus_start + range_size) is CPU
  // physical [cpu_start, …). bus_limit is dev->bus_dma_limit (0 = none).
  bool has_range_map = false;
  uint64_t bus_start = 0;
  uint64_t cpu_start = 0;
  uint64_t range_size = 0;
  uint64_t bus_limit = 0;
  bool coherent = false;  // dev->dma_coherent
  bool iommu = false;     // behind an IOMMU: iommu-dma with its own domain
  std::string iommu_name;
  unsigned iova_bits = 32;                   // the domain's aperture
  uint64_t max_seg_size = uint64_t{64} << 10;  // dma_get_max_seg_size: 64 KiB unless the driver set it
  // The importing driver's rule (not the DMA API's): its GEM DMA helpers refuse a buffer whose
  // DMA addresses are not one contiguous range (drm_gem_dma_prime_import_sg_table).
  bool needs_contiguous = false;
  bool vgem = false;  // a virtual GEM device (vgem): /dev/dri/cardN answers for it
};

// What a kernel would have done for DMA. A plain snapshot; DmaStats holds the live counters.
struct DmaCounters {
  uint64_t maps = 0;
  uint64_t map_errors = 0;
  uint64_t unmaps = 0;
  uint64_t syncs_for_cpu = 0;     // sync calls that did cache maintenance or a bounce copy
  uint64_t syncs_for_device = 0;
  uint64_t bytes_synced = 0;      // bytes of cache maintenance (clean or invalidate)
  uint64_t bounces = 0;           // entries mapped through the swiotlb
  uint64_t bytes_bounced = 0;     // bytes a kernel would copy to or from bounce slots
};

struct DmaStats {
  std::atomic<uint64_t> maps{0}, map_errors{0}, unmaps{0}, syncs_for_cpu{0}, syncs_for_device{0},
      bytes_synced{0}, bounces{0}, bytes_bounced{0};
  DmaCounters Snapshot() const;
};

// A mapped scatter list (the DMA half of struct sg_table), from DmaDevice::Map.
struct DmaMapping {
  SgTable segments;  // what the device sees: DMA addresses or IOVAs, lengths
  SgTable pages;     // what was mapped: physical entries
  std::vector<uint64_t> bounce;  // dma-direct: per page entry, its swiotlb slot or 0
  uint64_t iova = 0;             // iommu-dma: the one IOVA range
  uint64_t iova_len = 0;
  DmaDirection dir = DmaDirection::kBidirectional;
  unsigned long attrs = 0;
};

class DmaDevice {
 public:
  // `swiotlb` (may be null: no pool) outlives the device.
  DmaDevice(DmaDeviceSpec spec, Swiotlb* swiotlb);
  DmaDevice(const DmaDevice&) = delete;
  DmaDevice& operator=(const DmaDevice&) = delete;

  const DmaDeviceSpec& spec() const { return spec_; }
  const std::string& name() const { return spec_.name; }
  // min_not_zero(mask, bus_dma_limit): the highest address the device can put on its bus.
  uint64_t limit() const;
  // phys_to_dma: the bus address of a physical one, kDmaMappingError outside the range map.
  uint64_t PhysToDma(uint64_t phys) const;
  // dma_capable: [addr, addr + size) lies at or below limit().
  bool Capable(uint64_t addr, uint64_t size) const;
  // The IOVA domain (null without an IOMMU).
  IovaDomain* iova() const { return iova_.get(); }

  // dma_map_sgtable. `buffer` (may be null) also receives the counts. Errors: EIO (dma-direct:
  // unreachable with no swiotlb, swiotlb full), ENOMEM (IOVA space exhausted), EINVAL (empty).
  Result<DmaMapping> Map(std::span<const ScatterEntry> pages, DmaDirection dir,
                         unsigned long attrs, DmaStats* buffer = nullptr);
  // dma_unmap_sgtable with the map's direction; the attrs given here (SKIP_CPU_SYNC) apply.
  void Unmap(DmaMapping& mapping, unsigned long attrs, DmaStats* buffer = nullptr);
  // dma_sync_sgtable_for_cpu / _for_device.
  void SyncForCpu(const DmaMapping& mapping, DmaDirection dir, DmaStats* buffer = nullptr);
  void SyncForDevice(const DmaMapping& mapping, DmaDirection dir, DmaStats* buffer = nullptr);

  DmaCounters counters() const { return stats_.Snapshot(); }

 private:
  Result<DmaMapping> MapDirect(std::span<const ScatterEntry> pages, DmaDirection dir,
                               unsigned long attrs, DmaStats* buffer);
  Result<DmaMapping> MapIommu(std::span<const ScatterEntry> pages, DmaDirection dir,
                              unsigned long attrs, DmaStats* buffer);
  // Adds n to one counter of the device's stats and of the buffer's.
  void Count(std::atomic<uint64_t> DmaStats::*field, uint64_t n, DmaStats* buffer);
  // arch_sync_dma_for_cpu / _for_device over the entries (non-coherent devices only).
  bool CacheForCpu(const SgTable& pages, DmaDirection dir, DmaStats* buffer);
  bool CacheForDevice(const SgTable& pages, DmaStats* buffer);

  const DmaDeviceSpec spec_;
  Swiotlb* const swiotlb_;
  std::unique_ptr<IovaDomain> iova_;
  DmaStats stats_;
};

// drm_prime_get_contiguous_size: the length of the leading run of DMA-contiguous segments.
uint64_t DmaContiguousSize(std::span<const ScatterEntry> segments);

}  // namespace dmaheap

#endif  // DMAHEAP_SRC_DMA_DMA_DEVICE_H
