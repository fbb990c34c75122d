// The device socket ("<heap directory>.dev", $DMAHEAP_DEVICES overrides): importers reach the
// daemon's devices through it. A connection is one importer, like a driver's open file: the
// attachments it makes are its own, and the daemon detaches what is left when it hangs up.
//
//   kDevices   no fd, no payload       → text, one device per line (EncodeDevices)
//   kAttach    one buffer fd; cmd = direction (0..2) | kAttachOnce; payload = device name
//              → u64 id, then (u64 address, u64 length) per DMA segment
//   kDetach    no fd; cmd = id         → status only (ENOENT: not this connection's)
//   kAllocFor  no fd; payload = u64 len, u32 flags (kAllocForCpuAccess), u32 fd_flags, then
//              the device names joined by ','  → the buffer fd; text "HEAP\nWHY" (or, refused,
//              the reason)
//
// Rules (DecodeDeviceRequest), each an errno reply with the connection kept: kAttach without
// exactly one fd → EBADF; an fd with any other op → EINVAL; an unknown direction or cmd bit, a
// device name empty, longer than 63 bytes or with a NUL, ',' or '/' → EINVAL; kAllocFor shorter
// than its 16 bytes, with unknown flags, no device or more than 16 → EINVAL; unknown op →
// EOPNOTSUPP.
//
// While a device has a daemon buffer mapped the daemon sets the buffer's sticky bit (S_ISVTX,
// meaningless for a regular file): a client seeing it sends DMA_BUF_IOCTL_SYNC to the daemon
// (Op::kSync) so the exporter syncs the mapped attachments; without it SYNC stays local.
#ifndef DMAHEAP_SRC_IPC_DEVICE_WIRE_H
#define DMAHEAP_SRC_IPC_DEVICE_WIRE_H

#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "dma/dma_types.h"
#include "dmaheap/device.h"
#include "dmaheap/result.h"
#include "ipc/request.h"

namespace dmaheap {

inline constexpr uint64_t kAttachOnce = 0x100;      // the same buffer twice: the same id
inline constexpr uint32_t kAllocForCpuAccess = 0x1;
inline constexpr size_t kMaxDeviceName = 63;
inline constexpr size_t kMaxAllocForDevices = 16;

struct DeviceRequest {
  enum class Kind { kDevices, kAttach, kDetach, kAllocFor } kind = Kind::kDevices;
  std::string_view device;  // kAttach
  DmaDirection dir = DmaDirection::kBidirectional;
  bool once = false;
  int buffer_fd = -1;  // kAttach: owned by the Request
  uint64_t id = 0;     // kDetach
  uint64_t len = 0;    // kAllocFor
  bool cpu_access = false;
  uint32_t fd_flags = 0;
  std::vector<std::string> devices;
};

Result<DeviceRequest> DecodeDeviceRequest(const Request& request);

// A device name a request may carry.
bool ValidDeviceName(std::string_view name);

std::vector<uint8_t> EncodeAttachReply(uint64_t id, std::span<const ScatterEntry> segments);
// EBADMSG for a reply that is not one.
Result<std::pair<uint64_t, std::vector<DmaSegment>>> DecodeAttachReply(
    std::span<const uint8_t> bytes);

std::vector<uint8_t> EncodeAllocFor(uint64_t len, bool cpu_access, uint32_t fd_flags,
                                    const std::vector<std::string>& devices);

std::string EncodeDevices(const std::vector<DmaDeviceInfo>& devices);
Result<std::vector<DmaDeviceInfo>> DecodeDevices(std::string_view text);

}  // namespace dmaheap

#endif  // DMAHEAP_SRC_IPC_DEVICE_WIRE_H
