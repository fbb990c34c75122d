// The DRM core's ioctl entry (drivers/gpu/drm/drm_ioctl.c drm_ioctl) for a card dmaheap
// emulates: the one implementation of its rules, used by the preload shim and the seccomp
// supervisor of `dmaheap run` wherever the caller's memory and fds are.
//
// In drm_ioctl's order (Linux 6.1):
//   _IOC_TYPE other than 'd'          → ENOTTY.
//   an nr with no function            → EINVAL: drm_ioctl starts from retcode -EINVAL and jumps
//                                       out (err_i1) for a core nr past its table, a driver index
//                                       past the driver's table, or a table slot with no func.
//   otherwise in_size = _IOC_SIZE(cmd) when both the caller's cmd and the table's carry
//   _IOC_WRITE (else 0), out_size likewise with _IOC_READ; in_size bytes are copied in (EFAULT)
//   and zero-filled up to the table's size (a caller built against an older or newer struct
//   works), the function runs, and out_size bytes are copied back even when it failed (a failed
//   copy-out then makes the answer EFAULT).
// Functions: VERSION, GEM_CLOSE and PRIME_FD_TO_HANDLE, what the kernel's dma-buf heap selftest
// uses. All three are DRM_RENDER_ALLOW without DRM_AUTH, so drm_ioctl_permit passes them on any
// node. Every other nr answers EINVAL, as from a DRM whose tables lack it: a real vgem also
// serves GET_CAP, PRIME_HANDLE_TO_FD, dumb buffers, syncobjs and vgem's fence ioctls (README).
#ifndef DMAHEAP_SRC_DRM_DRM_IOCTL_H
#define DMAHEAP_SRC_DRM_DRM_IOCTL_H

#include <cstddef>
#include <cstdint>

#include "dmaheap/result.h"
#include "platform/ioctl_arg.h"

namespace dmaheap {

// What DRM_IOCTL_VERSION reports for a driver (struct drm_driver's major … desc).
struct DrmDriver {
  int major;
  int minor;
  int patchlevel;
  const char* name;
  const char* date;
  const char* desc;
};

// vgem as Linux 6.1 reports it (drivers/gpu/drm/vgem/vgem_drv.c; patchlevel is never set). From
// 6.11 on drm_version ignores the driver's date and reports "0" for every driver; dmaheap
// follows 6.1.
inline constexpr DrmDriver kVgemDriver{1, 0, 0, "vgem", "20120112", "Virtual GEM provider"};

// One open DRM file as a mode reaches it: its GEM handles, and the caller's memory behind the
// pointers an argument carries.
class DrmFile {
 public:
  virtual ~DrmFile() = default;
  // drm_gem_prime_fd_to_handle. Called by DrmIoctl for PRIME_FD_TO_HANDLE / Required / Locks
  // held: none / `fd` is a number in the caller's fd table, not owned. Returns the GEM handle
  // (non-zero; the same one for a dma-buf this file has imported already, as the kernel's
  // per-file prime cache gives); errors: EBADF (no such open fd), EINVAL (not a dma-buf), the
  // import's own (EIO, ENOMEM), ENODEV (the device is gone).
  virtual Result<uint32_t> PrimeFdToHandle(int fd) = 0;
  // drm_gem_handle_delete. Called by DrmIoctl for GEM_CLOSE / Required / Locks held: none.
  // Returns nothing; errors: EINVAL for a handle this file does not hold (0 included), ENODEV.
  virtual Result<void> GemClose(uint32_t handle) = 0;
  // copy_to_user at `addr`, a pointer inside the argument (drm_version's strings). Called by
  // DrmIoctl / Required / Locks held: none. Errors: EFAULT when the bytes cannot be written.
  virtual Result<void> CopyToUser(uint64_t addr, const void* src, size_t len) = 0;
};

// Runs one ioctl on a DRM file of `driver`, the argument in `arg`. Returns 0 or a positive errno.
int DrmIoctl(unsigned int cmd, IoctlArg& arg, const DrmDriver& driver, DrmFile& file);

}  // namespace dmaheap

#endif  // DMAHEAP_SRC_DRM_DRM_IOCTL_H
