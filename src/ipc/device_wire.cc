#include "ipc/device_wire.h"

#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <sstream>

namespace dmaheap {
namespace {

template <typename T>
void Put(std::vector<uint8_t>& out, T value) {
  const auto* p = reinterpret_cast<const uint8_t*>(&value);
  out.insert(out.end(), p, p + sizeof(T));
}

template <typename T>
T Get(std::span<const uint8_t> bytes, size_t offset) {
  T value;
  std::memcpy(&value, bytes.data() + offset, sizeof(T));
  return value;
}

}  // namespace

bool ValidDeviceName(std::string_view name) {
  return !name.empty() && name.size() <= kMaxDeviceName &&
         name.find_first_of(std::string_view("\0,/ \n\t", 6)) == std::string_view::npos;
}

Result<DeviceRequest> DecodeDeviceRequest(const Request& request) {
  DeviceRequest out;
  if (request.op == Op::kAttach) {
    if (request.fds.size() != 1) return Errno(EBADF);
  } else if (!request.fds.empty()) {
    return Errno(EINVAL);
  }
  switch (request.op) {
    case Op::kDevices:
      out.kind = DeviceRequest::Kind::kDevices;
      return out;
    case Op::kAttach: {
      out.kind = DeviceRequest::Kind::kAttach;
      const uint64_t dir = request.cmd & 0xff;
      if (dir > 2 || (request.cmd & ~(kAttachOnce | 0xff)) != 0) return Errno(EINVAL);
      out.dir = static_cast<DmaDirection>(dir);
      out.once = (request.cmd & kAttachOnce) != 0;
      out.device = std::string_view(reinterpret_cast<const char*>(request.payload.data()),
                                    request.payload.size());
      if (!ValidDeviceName(out.device)) return Errno(EINVAL);
      out.buffer_fd = request.fds[0].get();
      return out;
    }
    case Op::kDetach:
      out.kind = DeviceRequest::Kind::kDetach;
      out.id = request.cmd;
      return out;
    case Op::kAllocFor: {
      out.kind = DeviceRequest::Kind::kAllocFor;
      if (request.payload.size() < 16) return Errno(EINVAL);
      out.len = Get<uint64_t>(request.payload, 0);
      const auto flags = Get<uint32_t>(request.payload, 8);
      if ((flags & ~kAllocForCpuAccess) != 0) return Errno(EINVAL);
      out.cpu_access = (flags & kAllocForCpuAccess) != 0;
      out.fd_flags = Get<uint32_t>(request.payload, 12);
      std::string_view names(reinterpret_cast<const char*>(request.payload.data()) + 16,
                             request.payload.size() - 16);
      while (!names.empty() || out.devices.empty()) {
        const size_t comma = names.find(',');
        const std::string_view name = names.substr(0, comma);
        if (!ValidDeviceName(name) || out.devices.size() == kMaxAllocForDevices) return Errno(EINVAL);
        out.devices.emplace_back(name);
        if (comma == std::string_view::npos) break;
        names.remove_prefix(comma + 1);
        if (names.empty()) return Errno(EINVAL);  // a trailing ','
      }
      return out;
    }
    default:
      return Errno(EOPNOTSUPP);
  }
}

std::vector<uint8_t> EncodeAttachReply(uint64_t id, std::span<const ScatterEntry> segments) {
  std::vector<uint8_t> out;
  Put(out, id);
  for (const ScatterEntry& s : segments) {
    Put(out, s.dma_address);
    Put(out, s.length);
  }
  return out;
}

Result<std::pair<uint64_t, std::vector<DmaSegment>>> DecodeAttachReply(
    std::span<const uint8_t> bytes) {
  if (bytes.size() < 8 || (bytes.size() - 8) % 16 != 0) return Errno(EBADMSG);
  std::pair<uint64_t, std::vector<DmaSegment>> out;
  out.first = Get<uint64_t>(bytes, 0);
  for (size_t off = 8; off < bytes.size(); off += 16)
    out.second.push_back({Get<uint64_t>(bytes, off), Get<uint64_t>(bytes, off + 8)});
  return out;
}

std::vector<uint8_t> EncodeAllocFor(uint64_t len, bool cpu_access, uint32_t fd_flags,
                                    const std::vector<std::string>& devices) {
  std::vector<uint8_t> out;
  Put(out, len);
  Put(out, cpu_access ? kAllocForCpuAccess : 0u);
  Put(out, fd_flags);
  for (size_t i = 0; i < devices.size(); ++i) {
    if (i != 0) out.push_back(',');
    out.insert(out.end(), devices[i].begin(), devices[i].end());
  }
  return out;
}

// One line per device: name iommu iommu_name iova_bits limit offset coherent contiguous
// max_seg vgem, then the eight counters of DmaStatsInfo.
std::string EncodeDevices(const std::vector<DmaDeviceInfo>& devices) {
  std::string out;
  for (const DmaDeviceInfo& d : devices) {
    const DmaStatsInfo& s = d.stats;
    char line[512];
    std::snprintf(line, sizeof(line),
                  "%s %d %s %u %" PRIu64 " %" PRIu64 " %d %d %" PRIu64 " %d %" PRIu64 " %" PRIu64
                  " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 "\n",
                  d.name.c_str(), d.iommu ? 1 : 0, d.iommu_name.empty() ? "-" : d.iommu_name.c_str(),
                  d.iova_bits, d.dma_limit, d.dma_offset, d.coherent ? 1 : 0,
                  d.needs_contiguous ? 1 : 0, d.max_segment_size, d.vgem ? 1 : 0, s.maps,
                  s.map_errors, s.unmaps, s.syncs_for_cpu, s.syncs_for_device, s.bytes_synced,
                  s.bounces, s.bytes_bounced);
    out += line;
  }
  return out;
}

Result<std::vector<DmaDeviceInfo>> DecodeDevices(std::string_view text) {
  std::vector<DmaDeviceInfo> out;
  std::istringstream lines{std::string(text)};
  for (std::string line; std::getline(lines, line);) {
    std::istringstream f(line);
    DmaDeviceInfo d;
    int iommu = 0, coherent = 0, contiguous = 0, vgem = 0;
    DmaStatsInfo& s = d.stats;
    if (!(f >> d.name >> iommu >> d.iommu_name >> d.iova_bits >> d.dma_limit >> d.dma_offset >>
          coherent >> contiguous >> d.max_segment_size >> vgem >> s.maps >> s.map_errors >>
          s.unmaps >> s.syncs_for_cpu >> s.syncs_for_device >> s.bytes_synced >> s.bounces >>
          s.bytes_bounced)) {
      return Errno(EBADMSG);
    }
    if (d.iommu_name == "-") d.iommu_name.clear();
    d.iommu = iommu != 0;
    d.coherent = coherent != 0;
    d.needs_contiguous = contiguous != 0;
    d.vgem = vgem != 0;
    out.push_back(std::move(d));
  }
  return out;
}

}  // namespace dmaheap
