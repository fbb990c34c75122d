// The preload shim's vgem card (drm/vgem_card.h): /dev/dri/cardN opens as a connection to the
// daemon's device socket, and its ioctls are the DRM core's (drm/drm_ioctl.h), the handles kept
// by the daemon. The card is marked in the fd table like heap and buffer fds; it carries no
// state of its own in the shim, so dup copies its mark and exec finds it again by its peer.

#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>
#include <mutex>
#include <string>

#include "drm/drm_ioctl.h"
#include "drm/vgem_card.h"
#include "platform/ioctl_arg.h"
#include "platform/sys.h"
#include "preload/shim.h"

namespace dmaheap::preload {
namespace {

// Serialises round trips on card connections: a request and its reply must not interleave with
// another thread's on the same socket. Also guards g_vgem_device.
std::mutex g_card_mu;
// The vgem device's name on this process's daemon, from the last card opened (or, for a card
// inherited across exec, asked at its first import). Empty: not known yet.
std::string g_vgem_device;

// A card fd of this process: the caller's fds and memory are this process's own.
class ShimCard final : public VgemFile {
 public:
  using VgemFile::VgemFile;
  Result<void> CopyToUser(uint64_t addr, const void* src, size_t len) override {
    return sys::CopyToUser(reinterpret_cast<void*>(addr), src, len);
  }

 protected:
  Result<int> CallerFd(int fd, UniqueFd& /*holder*/) override {
    if (fd < 0 || ::fcntl(fd, F_GETFD) < 0) return Errno(EBADF);  // dma_buf_get's fget
    return fd;
  }
};

}  // namespace

void LockCards() { g_card_mu.lock(); }
void UnlockCards() { g_card_mu.unlock(); }

int OpenCard(const char* path, int flags) {
  Inside inside;
  const std::string& device_path = St().device_path;
  if (device_path.empty() || !IsVgemCardPath(path)) return kNotOurs;
  Result<VgemCard> card = OpenVgemCard(device_path, (flags & O_CLOEXEC) != 0);
  if (!card.ok()) {
    if (card.error() == ENODEV) return kNotOurs;  // no daemon, or no vgem on its board: no card
    errno = card.error();
    return -1;
  }
  if (const int err = CardOpenError(flags); err != 0) {
    errno = err;
    return -1;
  }
  struct stat st {};
  ::fstat(card->sock.get(), &st);
  {
    std::lock_guard lock(g_card_mu);
    g_vgem_device = card->device;
  }
  const int fd = card->sock.release();
  g_table.Mark(fd, Kind::kCard, st.st_ino);
  return fd;
}

bool IsCardPeer(std::string_view peer) {
  return !St().device_path.empty() && peer == St().device_path;
}

int CardIoctl(int fd, unsigned long request, void* arg) {
  Inside inside;
  std::lock_guard lock(g_card_mu);
  SelfIoctlArg user(arg);
  ShimCard card(fd, g_vgem_device);
  return -DrmIoctl(static_cast<unsigned int>(request), user, kVgemDriver, card);
}

}  // namespace dmaheap::preload
