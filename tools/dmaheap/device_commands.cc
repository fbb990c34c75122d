// The dmaheap tool's device commands (commands.h): devices, attach, alloc --for.

#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <string>
#include <vector>

#include "base/json.h"
#include "commands.h"
#include "dmaheap/client.h"

namespace dmaheap {
namespace {

// The daemon's devices, else the board's booted here (--board: always booted here).
Result<std::unique_ptr<Client>> OpenFor(const std::string& board) {
  ClientOptions options;
  if (!board.empty()) {
    options.backend = Backend::kEmbedded;
    options.board = board;
  } else if (!KernelHasHeaps() || std::getenv("DMAHEAP_BACKEND") != nullptr) {
    return Client::Open(options);
  } else {
    // The kernel's importers are its drivers: show the default board instead of nothing.
    options.backend = Backend::kEmbedded;
  }
  return Client::Open(options);
}

const char* ErrnoName(int err) {
  const char* name = strerrorname_np(err);
  return name != nullptr ? name : "EIO";
}

std::string DeviceLines(const DmaDeviceInfo& d) {
  char buf[1024];
  std::string out = d.name + "\n";
  if (d.iommu) {
    std::snprintf(buf, sizeof(buf), "  iommu:        %s, %u-bit IOVA space (one range per mapping)\n",
                  d.iommu_name.c_str(), d.iova_bits);
  } else {
    std::snprintf(buf, sizeof(buf), "  iommu:        none (DMA addresses are physical%s)\n",
                  d.dma_offset != 0 ? " minus the bus offset" : "");
  }
  out += buf;
  std::snprintf(buf, sizeof(buf), "  dma limit:    0x%" PRIx64 "\n", d.dma_limit);
  out += buf;
  if (d.dma_offset != 0) {
    std::snprintf(buf, sizeof(buf), "  bus offset:   0x%" PRIx64 "\n", d.dma_offset);
    out += buf;
  }
  out += d.coherent ? "  coherent:     yes (no cache maintenance)\n"
                    : "  coherent:     no (CPU access syncs its mappings)\n";
  out += d.needs_contiguous ? "  contiguous:   required (GEM DMA helpers: one DMA range)\n"
                            : "  contiguous:   not required\n";
  std::snprintf(buf, sizeof(buf), "  max segment:  %" PRIu64 " bytes\n", d.max_segment_size);
  out += buf;
  if (d.vgem) out += "  vgem:         yes (/dev/dri/cardN under the shim and dmaheap run)\n";
  const DmaStatsInfo& s = d.stats;
  std::snprintf(buf, sizeof(buf),
                "  dma:          %" PRIu64 " maps, %" PRIu64 " errors, %" PRIu64
                " syncs (%" PRIu64 " for cpu, %" PRIu64 " for device), %" PRIu64
                " bytes synced, %" PRIu64 " bounces (%" PRIu64 " bytes)\n",
                s.maps, s.map_errors, s.syncs_for_cpu + s.syncs_for_device, s.syncs_for_cpu,
                s.syncs_for_device, s.bytes_synced, s.bounces, s.bytes_bounced);
  return out + buf;
}

std::string DeviceJson(const DmaDeviceInfo& d) {
  const DmaStatsInfo& s = d.stats;
  char buf[1024];
  std::snprintf(buf, sizeof(buf),
                "{\"name\": %s, \"iommu\": %s, \"iova_bits\": %u, \"dma_limit\": %" PRIu64
                ", \"dma_offset\": %" PRIu64 ", \"coherent\": %s, \"contiguous\": %s, "
                "\"max_segment_size\": %" PRIu64 ", \"vgem\": %s, \"stats\": {\"maps\": %" PRIu64
                ", \"map_errors\": %" PRIu64 ", \"unmaps\": %" PRIu64 ", \"syncs_for_cpu\": %" PRIu64
                ", \"syncs_for_device\": %" PRIu64 ", \"bytes_synced\": %" PRIu64
                ", \"bounces\": %" PRIu64 ", \"bytes_bounced\": %" PRIu64 "}}",
                JsonString(d.name).c_str(), d.iommu ? JsonString(d.iommu_name).c_str() : "null",
                d.iova_bits, d.dma_limit, d.dma_offset, d.coherent ? "true" : "false",
                d.needs_contiguous ? "true" : "false", d.max_segment_size,
                d.vgem ? "true" : "false", s.maps, s.map_errors, s.unmaps, s.syncs_for_cpu,
                s.syncs_for_device, s.bytes_synced, s.bounces, s.bytes_bounced);
  return buf;
}

// Why an import failed, from the errno and what the device and heap are.
std::string ImportFailure(int err, const std::string& device, const std::string& heap,
                          const std::vector<DmaDeviceInfo>& devices) {
  const DmaDeviceInfo* d = nullptr;
  for (const DmaDeviceInfo& info : devices) {
    if (info.name == device) d = &info;
  }
  char buf[512];
  if (err == ENODEV || d == nullptr) {
    std::string known;
    for (const DmaDeviceInfo& info : devices) known += (known.empty() ? "" : " ") + info.name;
    return "no device '" + device + "' (devices: " + (known.empty() ? "none" : known) + ")";
  }
  switch (err) {
    case EINVAL:
      if (d->needs_contiguous) {
        std::snprintf(buf, sizeof(buf),
                      "%s has no IOMMU and its driver imports only DMA-contiguous buffers (GEM "
                      "DMA helpers): a %s buffer maps as scattered pages",
                      device.c_str(), heap.c_str());
        return buf;
      }
      return "the device refused the buffer";
    case EIO:
      std::snprintf(buf, sizeof(buf),
                    "%s reaches only up to 0x%" PRIx64
                    " and the buffer lies above it; the swiotlb cannot bounce it (none on this "
                    "board, full, or a segment over 256 KiB)",
                    device.c_str(), d->dma_limit);
      return buf;
    case ENOMEM:
      return device + "'s IOVA space has no room for the buffer";
    default:
      return strerror(err);
  }
}

}  // namespace

int DevicesCommand(const ViewOptions& view) {
  Result<std::unique_ptr<Client>> client = OpenFor(view.board_given ? ViewBoard(view) : "");
  if (!client.ok()) {
    std::fprintf(stderr, "dmaheap devices: no devices: %s\n", std::strerror(client.error()));
    return 1;
  }
  Result<std::vector<DmaDeviceInfo>> devices = (*client)->Devices();
  if (!devices.ok()) {
    std::fprintf(stderr, "dmaheap devices: %s\n", std::strerror(devices.error()));
    return 1;
  }
  std::string out;
  if (view.json) {
    out = "[";
    for (size_t i = 0; i < devices->size(); ++i)
      out += std::string(i == 0 ? "\n  " : ",\n  ") + DeviceJson((*devices)[i]);
    out += devices->empty() ? "]\n" : "\n]\n";
  } else {
    for (const DmaDeviceInfo& d : *devices) out += DeviceLines(d);
    if (devices->empty()) out = "(no devices)\n";
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
  return 0;
}

int AttachCommand(const std::string& board, const std::string& heap, const std::string& device,
                  const std::string& size_text, DmaDataDirection dir) {
  uint64_t size = 0;
  if (!ParseSize(size_text, &size)) {
    std::fprintf(stderr, "dmaheap attach: invalid size '%s' (a number with K, M or G)\n",
                 size_text.c_str());
    return 2;
  }
  Result<std::unique_ptr<Client>> client = OpenFor(board);
  if (!client.ok()) {
    std::fprintf(stderr, "%s: no heaps: %s\n", ErrnoName(client.error()),
                 std::strerror(client.error()));
    return 1;
  }
  Result<UniqueFd> fd = (*client)->Allocate(heap, size);
  if (!fd.ok()) {
    std::fprintf(stderr, "%s: %s: cannot allocate %s bytes: %s\n", ErrnoName(fd.error()),
                 heap.c_str(), size_text.c_str(), std::strerror(fd.error()));
    return 1;
  }
  Result<Attachment> attachment = (*client)->Attach(fd->get(), device, dir);
  if (!attachment.ok()) {
    Result<std::vector<DmaDeviceInfo>> devices = (*client)->Devices();
    std::fprintf(stderr, "%s: %s\n", ErrnoName(attachment.error()),
                 ImportFailure(attachment.error(), device, heap,
                               devices.ok() ? *devices : std::vector<DmaDeviceInfo>{})
                     .c_str());
    return 1;
  }
  for (const DmaSegment& s : attachment->segments())
    std::printf("0x%" PRIx64 " %" PRIu64 "\n", s.address, s.length);
  return 0;
}

int AllocForCommand(const std::string& board, const std::string& devices_text,
                    const std::string& size_text, bool cpu_access, bool json) {
  uint64_t size = 0;
  if (!ParseSize(size_text, &size)) {
    std::fprintf(stderr, "dmaheap alloc: invalid size '%s' (a number with K, M or G)\n",
                 size_text.c_str());
    return 2;
  }
  std::vector<std::string> devices;
  for (size_t start = 0;;) {
    const size_t comma = devices_text.find(',', start);
    devices.push_back(devices_text.substr(start, comma - start));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  Result<std::unique_ptr<Client>> client = OpenFor(board);
  if (!client.ok()) {
    std::fprintf(stderr, "%s: no heaps: %s\n", ErrnoName(client.error()),
                 std::strerror(client.error()));
    return 1;
  }
  std::string refusal;
  Result<HeapChoice> choice = (*client)->AllocateFor(devices, size, cpu_access, &refusal);
  if (!choice.ok()) {
    std::fprintf(stderr, "%s: %s\n", ErrnoName(choice.error()),
                 refusal.empty() ? std::strerror(choice.error()) : refusal.c_str());
    return 1;
  }
  struct stat st {};
  ::fstat(choice->fd.get(), &st);
  if (json) {
    std::printf("{\"heap\": %s, \"why\": %s, \"pid\": %d, \"fd\": %d, \"inode\": %" PRIu64 "}\n",
                JsonString(choice->heap).c_str(), JsonString(choice->why).c_str(), ::getpid(),
                choice->fd.get(), static_cast<uint64_t>(st.st_ino));
  } else {
    std::printf("heap: %s\n%s", choice->heap.c_str(), choice->why.c_str());
  }
  return 0;
}

}  // namespace dmaheap
