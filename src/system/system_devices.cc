// The embedded API's device half (include/dmaheap/device.h): the board's devices, attachments
// held by the System's import table, constraint-based allocation, DMA counters.
#include <utility>

#include "base/check.h"
#include "dmaheap/dmaheap.h"
#include "system/alloc_for.h"
#include "system/device_views.h"
#include "system/import_table.h"
#include "system/system_core.h"

namespace dmaheap {

Attachment::Attachment(std::weak_ptr<Owner> owner, uint64_t id, std::string device,
                       std::vector<DmaSegment> segments)
    : owner_(std::move(owner)),
      id_(id),
      device_(std::move(device)),
      segments_(std::move(segments)) {}

Attachment::Attachment(Attachment&& other) noexcept
    : owner_(std::exchange(other.owner_, {})),
      id_(other.id_),
      device_(std::move(other.device_)),
      segments_(std::move(other.segments_)) {}

Attachment& Attachment::operator=(Attachment&& other) noexcept {
  if (this != &other) {
    reset();
    owner_ = std::exchange(other.owner_, {});
    id_ = other.id_;
    device_ = std::move(other.device_);
    segments_ = std::move(other.segments_);
  }
  return *this;
}

Attachment::~Attachment() { reset(); }

void Attachment::reset() {
  if (std::shared_ptr<Owner> owner = std::exchange(owner_, {}).lock()) owner->Detach(id_);
  segments_.clear();
}

// The System's importer: one table for everything the embedded API attaches.
class System::Imports final : public Attachment::Owner {
 public:
  explicit Imports(SystemCore& core) : table(core) {}
  void Detach(uint64_t id) noexcept override { (void)table.Detach(id); }
  ImportTable table;
};

System::System(std::unique_ptr<SystemCore> core) : core_(std::move(core)) {}

System::~System() = default;

DmaStatsInfo Info(const DmaCounters& c) {
  return DmaStatsInfo{c.maps,          c.map_errors,   c.unmaps,  c.syncs_for_cpu,
                      c.syncs_for_device, c.bytes_synced, c.bounces, c.bytes_bounced};
}

std::vector<DmaSegment> ToSegments(const SgTable& table) {
  std::vector<DmaSegment> out;
  for (const ScatterEntry& e : table) out.push_back({e.dma_address, e.length});
  return out;
}

DmaDeviceInfo DeviceInfoOf(const DmaDevice& dev) {
  const DmaDeviceSpec& s = dev.spec();
  DmaDeviceInfo info;
  info.name = s.name;
  info.iommu = s.iommu;
  info.iommu_name = s.iommu_name;
  info.iova_bits = s.iommu ? s.iova_bits : 0;
  info.dma_limit = dev.limit();
  info.dma_offset = s.cpu_start - s.bus_start;
  info.coherent = s.coherent;
  info.needs_contiguous = s.needs_contiguous;
  info.max_segment_size = s.max_seg_size;
  info.vgem = s.vgem;
  info.stats = Info(dev.counters());
  return info;
}

std::vector<DmaDeviceInfo> System::Devices() {
  std::vector<DmaDeviceInfo> out;
  for (const auto& dev : core_->devices()) out.push_back(DeviceInfoOf(*dev));
  return out;
}

Result<Attachment> System::Attach(int buffer_fd, std::string_view device, DmaDataDirection dir) {
  if (imports_ == nullptr) imports_ = std::make_shared<Imports>(*core_);
  Imported imported =
      TRY(imports_->table.Import(buffer_fd, device, static_cast<DmaDirection>(dir)));
  return Attachment(imports_, imported.id, std::string(device), ToSegments(imported.segments));
}

Result<HeapChoice> System::AllocateFor(const std::vector<std::string>& devices, uint64_t len,
                                       bool cpu_access, std::string* refusal) {
  AllocForRequest request;
  request.devices = devices;
  request.len = len;
  request.cpu_access = cpu_access;
  request.owner = core_->self();
  std::string why_not;
  Result<AllocForResult> r = dmaheap::AllocateFor(*core_, request, &why_not);
  if (!r.ok()) {
    if (refusal != nullptr) *refusal = why_not;
    return Errno(r.error());
  }
  return HeapChoice{std::move(r->allocation.fd), r->heap, r->why};
}

Result<DmaStatsInfo> System::BufferDmaStats(int fd) {
  SystemCore* owner = nullptr;
  DmaBufRef buf = SystemCore::FindBuffer(fd, &owner);
  if (buf == nullptr || owner != core_.get()) return Errno(ENOENT);
  return Info(buf->dma_stats().Snapshot());
}

}  // namespace dmaheap
