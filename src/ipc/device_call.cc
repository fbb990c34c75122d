#include "ipc/device_call.h"

#include <fcntl.h>

#include "base/check.h"
#include "ipc/device_wire.h"
#include "ipc/transport.h"

namespace dmaheap {

Result<std::unique_ptr<DeviceConnection>> DeviceConnection::Open(const std::string& path) {
  Result<UniqueFd> sock = ConnectSocket(path);
  if (!sock.ok()) {
    const int e = sock.error();
    return Errno(e == ENOENT || e == ECONNREFUSED ? ENODEV : e);
  }
  return std::unique_ptr<DeviceConnection>(new DeviceConnection(std::move(sock).value()));
}

Result<std::vector<DmaDeviceInfo>> DeviceConnection::Devices() {
  std::lock_guard lock(mu_);
  Reply reply = TRY(Call(sock_.get(), Op::kDevices, 0, nullptr, 0));
  if (reply.status != 0) return Errno(reply.status);
  return DecodeDevices(
      std::string_view(reinterpret_cast<const char*>(reply.data.data()), reply.data.size()));
}

Result<std::pair<uint64_t, std::vector<DmaSegment>>> DeviceConnection::Attach(
    int buffer_fd, std::string_view device, DmaDirection dir, bool once) {
  if (!ValidDeviceName(device)) return Errno(ENODEV);
  const uint64_t cmd = static_cast<uint64_t>(dir) | (once ? kAttachOnce : 0);
  std::lock_guard lock(mu_);
  Reply reply = TRY(Call(sock_.get(), Op::kAttach, cmd, device.data(), device.size(), buffer_fd));
  if (reply.status != 0) return Errno(reply.status);
  return DecodeAttachReply(reply.data);
}

Result<void> DeviceConnection::DetachId(uint64_t id) {
  std::lock_guard lock(mu_);
  Reply reply = TRY(Call(sock_.get(), Op::kDetach, id, nullptr, 0));
  if (reply.status != 0) return Errno(reply.status);
  return {};
}

Result<HeapChoice> DeviceConnection::AllocateFor(const std::vector<std::string>& devices,
                                                 uint64_t len, bool cpu_access, uint32_t fd_flags,
                                                 std::string* refusal) {
  const std::vector<uint8_t> payload = EncodeAllocFor(len, cpu_access, fd_flags, devices);
  std::lock_guard lock(mu_);
  Reply reply = TRY(Call(sock_.get(), Op::kAllocFor, 0, payload.data(), payload.size()));
  const std::string text(reply.data.begin(), reply.data.end());
  if (reply.status != 0) {
    if (refusal != nullptr) *refusal = text;
    return Errno(reply.status);
  }
  if (!reply.fd) return Errno(EBADMSG);
  if ((fd_flags & O_CLOEXEC) == 0) ::fcntl(reply.fd.get(), F_SETFD, 0);
  const size_t nl = text.find('\n');
  HeapChoice choice;
  choice.fd = std::move(reply.fd);
  choice.heap = text.substr(0, nl);
  choice.why = nl == std::string::npos ? "" : text.substr(nl + 1);
  return choice;
}

}  // namespace dmaheap
