#include "drm/vgem_card.h"

#include <fcntl.h>
#include <sys/stat.h>

#include "base/check.h"
#include "dma/dma_types.h"
#include "ipc/device_wire.h"
#include "ipc/transport.h"

namespace dmaheap {

int CardNumber(std::string_view path) {
  constexpr std::string_view kPrefix = kDriCardPrefix;
  if (path.substr(0, kPrefix.size()) != kPrefix) return -1;
  std::string_view digits = path.substr(kPrefix.size());
  if (digits.empty() || digits.size() > 2 || (digits.size() > 1 && digits[0] == '0')) return -1;
  int n = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return -1;
    n = n * 10 + (c - '0');
  }
  return n < kMaxDrmCards ? n : -1;
}

bool HostHasPath(const std::string& path) {
  struct stat st {};
  return ::lstat(path.c_str(), &st) == 0;
}

bool IsVgemCardPath(std::string_view path, const std::function<bool(const std::string&)>& exists) {
  const int n = CardNumber(path);
  if (n < 0) return false;
  for (int i = 0; i <= n; ++i) {
    if (!exists(kDriCardPrefix + std::to_string(i))) return i == n;
  }
  return false;  // the host has that node
}

int CardOpenError(int flags) {
  if ((flags & O_DIRECTORY) != 0) return ENOTDIR;
  if ((flags & O_EXCL) != 0) return (flags & O_CREAT) != 0 ? EEXIST : EBUSY;
  return 0;
}

Result<std::string> VgemDeviceName(int sock) {
  Reply reply = TRY(Call(sock, Op::kDevices, 0, nullptr, 0));
  if (reply.status != 0) return Errno(reply.status);
  const std::vector<DmaDeviceInfo> devices = TRY(DecodeDevices(
      std::string_view(reinterpret_cast<const char*>(reply.data.data()), reply.data.size())));
  for (const DmaDeviceInfo& d : devices) {
    if (d.vgem) return d.name;
  }
  return Errno(ENODEV);
}

Result<VgemCard> OpenVgemCard(const std::string& device_path, bool cloexec) {
  Result<UniqueFd> sock = ConnectSocket(device_path, cloexec);
  if (!sock.ok()) {
    const int e = sock.error();
    return Errno(e == ENOENT || e == ECONNREFUSED ? ENODEV : e);
  }
  std::string device = TRY(VgemDeviceName(sock->get()));
  return VgemCard{std::move(sock).value(), std::move(device)};
}

Result<uint32_t> VgemFile::PrimeFdToHandle(int fd) {
  if (device_.empty()) device_ = TRY(VgemDeviceName(sock_));  // a card this mode did not open
  UniqueFd holder;
  const int local = TRY(CallerFd(fd, holder));
  const uint64_t cmd = static_cast<uint64_t>(DmaDirection::kBidirectional) | kAttachOnce;
  Reply reply = TRY(Call(sock_, Op::kAttach, cmd, device_.data(), device_.size(), local));
  if (reply.status != 0) return Errno(reply.status);
  const uint64_t id = TRY(DecodeAttachReply(reply.data)).first;
  if (id == 0 || id > UINT32_MAX) {
    // A u32 handle cannot name it (4 billion imports on one file): idr_alloc's answer.
    (void)Call(sock_, Op::kDetach, id, nullptr, 0);
    return Errno(ENOSPC);
  }
  return static_cast<uint32_t>(id);
}

Result<void> VgemFile::GemClose(uint32_t handle) {
  Reply reply = TRY(Call(sock_, Op::kDetach, handle, nullptr, 0));
  // The daemon's ENOENT (not this connection's) is drm_gem_handle_delete's EINVAL.
  if (reply.status == ENOENT) return Errno(EINVAL);
  if (reply.status != 0) return Errno(reply.status);
  return {};
}

}  // namespace dmaheap
