#include "dma/dma_device.h"

#include <algorithm>

namespace dmaheap {

const char* DmaDirectionName(DmaDirection dir) {
  switch (dir) {
    case DmaDirection::kBidirectional:
      return "bidirectional";
    case DmaDirection::kToDevice:
      return "to-device";
    case DmaDirection::kFromDevice:
      return "from-device";
  }
  return "?";
}

DmaCounters DmaStats::Snapshot() const {
  constexpr auto kRelaxed = std::memory_order_relaxed;
  return DmaCounters{maps.load(kRelaxed),          map_errors.load(kRelaxed),
                     unmaps.load(kRelaxed),        syncs_for_cpu.load(kRelaxed),
                     syncs_for_device.load(kRelaxed), bytes_synced.load(kRelaxed),
                     bounces.load(kRelaxed),       bytes_bounced.load(kRelaxed)};
}

DmaDevice::DmaDevice(DmaDeviceSpec spec, Swiotlb* swiotlb)
    : spec_(std::move(spec)), swiotlb_(swiotlb) {
  // The arm-smmu's smallest page (4 KiB) is the granule of iommu-dma's domain.
  if (spec_.iommu) iova_ = std::make_unique<IovaDomain>(spec_.iova_bits, 4096);
}

uint64_t DmaDevice::limit() const {
  if (spec_.bus_limit == 0) return spec_.dma_mask;
  return std::min(spec_.dma_mask, spec_.bus_limit);
}

uint64_t DmaDevice::PhysToDma(uint64_t phys) const {
  if (!spec_.has_range_map) return phys;
  if (phys < spec_.cpu_start || phys - spec_.cpu_start >= spec_.range_size) return kDmaMappingError;
  return spec_.bus_start + (phys - spec_.cpu_start);
}

bool DmaDevice::Capable(uint64_t addr, uint64_t size) const {
  if (addr == kDmaMappingError || size == 0) return false;
  const uint64_t last = addr + size - 1;
  return last >= addr && last <= limit();
}

void DmaDevice::Count(std::atomic<uint64_t> DmaStats::*field, uint64_t n, DmaStats* buffer) {
  (stats_.*field).fetch_add(n, std::memory_order_relaxed);
  if (buffer != nullptr) (buffer->*field).fetch_add(n, std::memory_order_relaxed);
}

bool DmaDevice::CacheForCpu(const SgTable& pages, DmaDirection dir, DmaStats* buffer) {
  // arm64's arch_sync_dma_for_cpu invalidates for FROM_DEVICE and BIDIRECTIONAL only: what the
  // CPU wrote for the device needs nothing more once the device is done.
  if (spec_.coherent || dir == DmaDirection::kToDevice) return false;
  uint64_t bytes = 0;
  for (const ScatterEntry& e : pages) bytes += e.length;
  Count(&DmaStats::bytes_synced, bytes, buffer);
  return true;
}

bool DmaDevice::CacheForDevice(const SgTable& pages, DmaStats* buffer) {
  // arch_sync_dma_for_device cleans to the point of coherency in every direction.
  if (spec_.coherent) return false;
  uint64_t bytes = 0;
  for (const ScatterEntry& e : pages) bytes += e.length;
  Count(&DmaStats::bytes_synced, bytes, buffer);
  return true;
}

Result<DmaMapping> DmaDevice::Map(std::span<const ScatterEntry> pages, DmaDirection dir,
                                  unsigned long attrs, DmaStats* buffer) {
  if (pages.empty()) return Errno(EINVAL);
  Result<DmaMapping> mapped =
      spec_.iommu ? MapIommu(pages, dir, attrs, buffer) : MapDirect(pages, dir, attrs, buffer);
  Count(mapped.ok() ? &DmaStats::maps : &DmaStats::map_errors, 1, buffer);
  return mapped;
}

void DmaDevice::Unmap(DmaMapping& mapping, unsigned long attrs, DmaStats* buffer) {
  if (!(attrs & kDmaAttrSkipCpuSync)) CacheForCpu(mapping.pages, mapping.dir, buffer);
  for (size_t i = 0; i < mapping.bounce.size(); ++i) {
    if (mapping.bounce[i] == 0) continue;
    // swiotlb_tbl_unmap_single copies the slot back for a device that may have written.
    if (mapping.dir != DmaDirection::kToDevice)
      Count(&DmaStats::bytes_bounced, mapping.pages[i].length, buffer);
    swiotlb_->Unmap(mapping.bounce[i]);
  }
  if (mapping.iova_len != 0) iova_->Free(mapping.iova);
  mapping = DmaMapping{};
  Count(&DmaStats::unmaps, 1, buffer);
}

void DmaDevice::SyncForCpu(const DmaMapping& mapping, DmaDirection dir, DmaStats* buffer) {
  bool synced = CacheForCpu(mapping.pages, dir, buffer);
  for (size_t i = 0; i < mapping.bounce.size(); ++i) {
    if (mapping.bounce[i] == 0 || dir == DmaDirection::kToDevice) continue;
    Count(&DmaStats::bytes_bounced, mapping.pages[i].length, buffer);
    synced = true;
  }
  if (synced) Count(&DmaStats::syncs_for_cpu, 1, buffer);
}

void DmaDevice::SyncForDevice(const DmaMapping& mapping, DmaDirection dir, DmaStats* buffer) {
  bool synced = false;
  for (size_t i = 0; i < mapping.bounce.size(); ++i) {
    if (mapping.bounce[i] == 0 || dir == DmaDirection::kFromDevice) continue;
    Count(&DmaStats::bytes_bounced, mapping.pages[i].length, buffer);
    synced = true;
  }
  synced = CacheForDevice(mapping.pages, buffer) || synced;
  if (synced) Count(&DmaStats::syncs_for_device, 1, buffer);
}

uint64_t DmaContiguousSize(std::span<const ScatterEntry> segments) {
  if (segments.empty()) return 0;
  uint64_t expected = segments.front().dma_address;
  uint64_t size = 0;
  for (const ScatterEntry& s : segments) {
    if (s.length == 0 || s.dma_address != expected) break;
    expected += s.length;
    size += s.length;
  }
  return size;
}

}  // namespace dmaheap
