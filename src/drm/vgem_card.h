// The vgem card that the preload shim and `dmaheap run` add for programs (the kernel dma-buf
// heap selftest's importer): which /dev/dri/cardN it answers as, and its DRM file over the
// daemon's device socket (ipc/device_wire.h).
//
// - Which card: the first /dev/dri/cardN, N from 0, that the host does not have (a real DRM node
//   is never shadowed), and only while the daemon's board declares a vgem device (compatible
//   "dmaheap,vgem"). Any other /dev/dri path is the host's.
// - A card fd is a connection to the device socket: one importer, as a DRM file is. A PRIME
//   import is kAttach with kAttachOnce for the vgem device, DMA_BIDIRECTIONAL: attached and
//   mapped at once, as drm_gem_prime_import_dev does, and the same dma-buf twice gives the same
//   id, as the file's prime cache gives the same handle. The attachment id is the GEM handle
//   (ids count from 1 per connection). GEM_CLOSE detaches it; the daemon detaches the rest when
//   the connection's last fd closes, as closing a DRM file releases its handles.
// - Unlike the kernel's idr, a closed handle's number is not reused: ids only grow.
#ifndef DMAHEAP_SRC_DRM_VGEM_CARD_H
#define DMAHEAP_SRC_DRM_VGEM_CARD_H

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "dmaheap/result.h"
#include "dmaheap/unique_fd.h"
#include "drm/drm_ioctl.h"

namespace dmaheap {

inline constexpr char kDriCardPrefix[] = "/dev/dri/card";
// Primary nodes take minors 0..63: drm_minor_alloc allocates 64 per node type.
inline constexpr int kMaxDrmCards = 64;

// "/dev/dri/cardN" → N (decimal, no sign, no leading zero unless N is 0, below 64); anything
// else, other spellings of the same path included, → -1.
int CardNumber(std::string_view path);

// Whether the host has anything at `path` (lstat: a dangling link counts).
bool HostHasPath(const std::string& path);

// Whether `path` is the vgem card's: /dev/dri/cardN where N is the first number whose node
// `exists` says the host lacks. Asks about N+1 paths at most.
bool IsVgemCardPath(std::string_view path,
                    const std::function<bool(const std::string&)>& exists = HostHasPath);

// The answer to opening the card with `flags` once the card exists: 0, or what the VFS (ENOTDIR
// for O_DIRECTORY on a char device, EEXIST for O_CREAT|O_EXCL on an existing node) or
// drm_open_helper (EBUSY for O_EXCL: "no exclusive opens") refuses. The access mode is never
// checked: drm_open takes O_RDONLY as well as O_RDWR.
int CardOpenError(int flags);

// The first vgem device the daemon behind device-socket connection `sock` serves. Errors:
// ENODEV when it serves none (or is gone), EBADMSG for a reply that does not parse.
Result<std::string> VgemDeviceName(int sock);

struct VgemCard {
  UniqueFd sock;       // the card fd: a connection to the device socket
  std::string device;  // the vgem device's name on that daemon
};

// A new card: a connection to the device socket at `device_path`, close-on-exec as asked. Errors:
// ENODEV when no daemon answers there or its board has no vgem device; connect's (EACCES).
Result<VgemCard> OpenVgemCard(const std::string& device_path, bool cloexec);

// The DRM file behind a card fd, `sock` (borrowed): its handles live in the daemon. `device` is
// the mode's cache of the vgem device's name (empty: asked of the daemon at the first import);
// it outlives the file. The mode says where the caller's fds and memory are. Not thread-safe:
// one round trip on `sock` at a time is the caller's to ensure.
class VgemFile : public DrmFile {
 public:
  VgemFile(int sock, std::string& device) : sock_(sock), device_(device) {}
  VgemFile(const VgemFile&) = delete;
  VgemFile& operator=(const VgemFile&) = delete;

  Result<uint32_t> PrimeFdToHandle(int fd) final;
  Result<void> GemClose(uint32_t handle) final;

 protected:
  // The caller's fd `fd` as an fd of this process: `fd` itself (the caller is this process), or
  // a duplicate the mode makes and leaves in `holder`. Errors: EBADF for no such open fd.
  virtual Result<int> CallerFd(int fd, UniqueFd& holder) = 0;

 private:
  const int sock_;
  std::string& device_;
};

}  // namespace dmaheap

#endif  // DMAHEAP_SRC_DRM_VGEM_CARD_H
