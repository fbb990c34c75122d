// The client half of the device socket (device_wire.h): one connection is one importer. Used by
// the library's daemon backend. The vgem card (drm/vgem_card.h) makes the same requests over a
// connection it does not own: the card fd of the program it serves.
#ifndef DMAHEAP_SRC_IPC_DEVICE_CALL_H
#define DMAHEAP_SRC_IPC_DEVICE_CALL_H

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "dma/dma_types.h"
#include "dmaheap/device.h"
#include "dmaheap/result.h"
#include "dmaheap/unique_fd.h"

namespace dmaheap {

// One importer's connection. Thread-safe: one round trip at a time.
class DeviceConnection final : public Attachment::Owner {
 public:
  // ENOENT/ECONNREFUSED → ENODEV: no daemon serves devices at `path`.
  static Result<std::unique_ptr<DeviceConnection>> Open(const std::string& path);

  Result<std::vector<DmaDeviceInfo>> Devices();
  // The attachment id and the DMA segments. `once`: a buffer this connection already has
  // attached to `device` gives its existing id.
  Result<std::pair<uint64_t, std::vector<DmaSegment>>> Attach(int buffer_fd,
                                                              std::string_view device,
                                                              DmaDirection dir, bool once);
  Result<void> DetachId(uint64_t id);
  void Detach(uint64_t id) noexcept override { (void)DetachId(id); }
  // The buffer fd, the heap and why; or the daemon's errno with `refusal` set.
  Result<HeapChoice> AllocateFor(const std::vector<std::string>& devices, uint64_t len,
                                 bool cpu_access, uint32_t fd_flags, std::string* refusal);
  int fd() const { return sock_.get(); }

 private:
  explicit DeviceConnection(UniqueFd sock) : sock_(std::move(sock)) {}
  std::mutex mu_;
  UniqueFd sock_;
};

}  // namespace dmaheap

#endif  // DMAHEAP_SRC_IPC_DEVICE_CALL_H
