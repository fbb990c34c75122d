// Fuzz target: one message as the daemon receives it, through every decoder a socket kind
// applies (DecodeRequest, then the heap, control and device rules). Whatever the bytes, the
// decoders answer an errno or a request whose fields point inside the message.
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <unistd.h>
#include <vector>

#include "ipc/device_wire.h"
#include "ipc/request.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace dmaheap;
  // The first byte says how many fds came along (0..3), the rest is the message.
  if (size == 0) return 0;
  const size_t nfds = data[0] % 4;
  RawRequest raw;
  raw.bytes = std::span<const uint8_t>(data + 1, size - 1);
  for (size_t i = 0; i < nfds; ++i) raw.fds.emplace_back(::dup(2));
  Result<Request> request = DecodeRequest(std::move(raw));
  if (!request.ok()) return 0;
  if (Result<HeapRequest> heap = DecodeHeapRequest(*request); heap.ok()) {
    const auto* begin = data + 1;
    const auto* end = data + size;
    const auto* arg = heap->arg.data();
    if (!heap->arg.empty() && (arg < begin || arg + heap->arg.size() > end)) __builtin_trap();
  }
  (void)CheckControlRequest(*request);
  if (Result<DeviceRequest> device = DecodeDeviceRequest(*request); device.ok()) {
    if (device->kind == DeviceRequest::Kind::kAttach && !ValidDeviceName(device->device))
      __builtin_trap();
    for (const std::string& name : device->devices)
      if (!ValidDeviceName(name)) __builtin_trap();
  }
  // The client side's decoders of the daemon's replies, on the same bytes.
  (void)DecodeAttachReply(std::span<const uint8_t>(data, size));
  (void)DecodeDevices(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
