// The part of Linux's include/uapi/drm/drm.h that the vgem card serves (LP64 layouts, the same in
// 6.1 and 6.12), written here from the kernel's documented layout. Private to dmaheap: programs
// build against the system's or libdrm's <drm/drm.h>, and these definitions only decode what
// such programs pass. The static_asserts pin every size, offset and number.
#ifndef DMAHEAP_SRC_DRM_DRM_UAPI_H
#define DMAHEAP_SRC_DRM_DRM_UAPI_H

#include <linux/ioctl.h>

#include <cstddef>
#include <cstdint>

namespace dmaheap::drm {

inline constexpr unsigned kIoctlBase = 'd';  // DRM_IOCTL_BASE
// Driver-private ioctls use nr DRM_COMMAND_BASE..DRM_COMMAND_END-1; the core has the rest.
inline constexpr unsigned kCommandBase = 0x40;
inline constexpr unsigned kCommandEnd = 0xA0;

// struct drm_version. Each string is copied without a NUL; *_len is the buffer's size on input
// and the string's full length on output.
struct Version {
  int32_t version_major;
  int32_t version_minor;
  int32_t version_patchlevel;
  uint64_t name_len;  // __kernel_size_t
  uint64_t name;      // char __user *
  uint64_t date_len;
  uint64_t date;
  uint64_t desc_len;
  uint64_t desc;
};

// struct drm_gem_close: pad is never checked.
struct GemClose {
  uint32_t handle;
  uint32_t pad;
};

// struct drm_prime_handle: flags are unused by FD_TO_HANDLE and never checked there.
struct PrimeHandle {
  uint32_t handle;
  uint32_t flags;
  int32_t fd;
};

inline constexpr unsigned kIoctlVersion = _IOWR(kIoctlBase, 0x00, Version);
inline constexpr unsigned kIoctlGemClose = _IOW(kIoctlBase, 0x09, GemClose);
inline constexpr unsigned kIoctlPrimeHandleToFd = _IOWR(kIoctlBase, 0x2d, PrimeHandle);
inline constexpr unsigned kIoctlPrimeFdToHandle = _IOWR(kIoctlBase, 0x2e, PrimeHandle);

static_assert(sizeof(Version) == 64);
static_assert(offsetof(Version, version_patchlevel) == 8 && offsetof(Version, name_len) == 16);
static_assert(offsetof(Version, name) == 24 && offsetof(Version, date_len) == 32);
static_assert(offsetof(Version, date) == 40 && offsetof(Version, desc_len) == 48);
static_assert(offsetof(Version, desc) == 56);
static_assert(sizeof(GemClose) == 8 && sizeof(PrimeHandle) == 12);
static_assert(kIoctlVersion == 0xC0406400u);
static_assert(kIoctlGemClose == 0x40086409u);
static_assert(kIoctlPrimeHandleToFd == 0xC00C642Du);
static_assert(kIoctlPrimeFdToHandle == 0xC00C642Eu);

}  // namespace dmaheap::drm

#endif  // DMAHEAP_SRC_DRM_DRM_UAPI_H
