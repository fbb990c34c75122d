/*
 * The DRM UAPI the vgem programs use, and the kernel dma-buf heap selftest's way of finding the
 * vgem card. The system's <drm/drm.h> is used when it is installed; Debian's linux-libc-dev does
 * not ship it (libdrm-dev has it under libdrm/), so otherwise the few definitions are written out
 * here with the kernel's names and layouts, and the asserts below pin them either way.
 */
#ifndef DMAHEAP_TESTS_CONFORMANCE_DRM_VGEM_H
#define DMAHEAP_TESTS_CONFORMANCE_DRM_VGEM_H

#include <errno.h>
#include <fcntl.h>
#include <linux/ioctl.h>
#include <linux/types.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#if __has_include(<drm/drm.h>)
#include <drm/drm.h>
#else
struct drm_version {
  int version_major;
  int version_minor;
  int version_patchlevel;
  __kernel_size_t name_len;
  char *name;
  __kernel_size_t date_len;
  char *date;
  __kernel_size_t desc_len;
  char *desc;
};
struct drm_gem_close {
  __u32 handle;
  __u32 pad;
};
struct drm_prime_handle {
  __u32 handle;
  __u32 flags;
  __s32 fd;
};
#define DRM_IOCTL_BASE 'd'
#define DRM_IO(nr) _IO(DRM_IOCTL_BASE, nr)
#define DRM_IOW(nr, type) _IOW(DRM_IOCTL_BASE, nr, type)
#define DRM_IOWR(nr, type) _IOWR(DRM_IOCTL_BASE, nr, type)
#define DRM_IOCTL_VERSION DRM_IOWR(0x00, struct drm_version)
#define DRM_IOCTL_GEM_CLOSE DRM_IOW(0x09, struct drm_gem_close)
#define DRM_IOCTL_PRIME_FD_TO_HANDLE DRM_IOWR(0x2e, struct drm_prime_handle)
#define DRM_COMMAND_BASE 0x40
#endif

#if defined(__LP64__)
_Static_assert(sizeof(struct drm_version) == 64, "drm_version is 64 bytes on LP64");
_Static_assert(offsetof(struct drm_version, name) == 24, "name @24");
_Static_assert(offsetof(struct drm_version, desc) == 56, "desc @56");
_Static_assert(DRM_IOCTL_VERSION == 0xC0406400u, "VERSION");
#endif
_Static_assert(sizeof(struct drm_prime_handle) == 12, "drm_prime_handle");
_Static_assert(DRM_IOCTL_GEM_CLOSE == 0x40086409u, "GEM_CLOSE");
_Static_assert(DRM_IOCTL_PRIME_FD_TO_HANDLE == 0xC00C642Eu, "PRIME_FD_TO_HANDLE");

/* The selftest's search: /dev/dri/card0..15 opened O_RDWR, the first whose DRM_IOCTL_VERSION
 * names the driver "vgem" (name_len 4 in, 4 out). Its fd, the number in *card; or -1. */
static inline int open_vgem_card(unsigned *card) {
  for (unsigned i = 0; i < 16; ++i) {
    char path[32];
    snprintf(path, sizeof(path), "/dev/dri/card%u", i);
    int fd = open(path, O_RDWR);
    if (fd < 0) continue;
    char name[5] = {0};
    struct drm_version v;
    memset(&v, 0, sizeof(v));
    v.name_len = 4;
    v.name = name;
    if (ioctl(fd, DRM_IOCTL_VERSION, &v) == 0 && v.name_len == 4 && strcmp(name, "vgem") == 0) {
      *card = i;
      return fd;
    }
    close(fd);
  }
  return -1;
}

/* PRIME_FD_TO_HANDLE: 0 with *handle set, or -errno. */
static inline int vgem_import(int card, int buf_fd, __u32 flags, __u32 *handle) {
  struct drm_prime_handle p = {.handle = 0, .flags = flags, .fd = buf_fd};
  if (ioctl(card, DRM_IOCTL_PRIME_FD_TO_HANDLE, &p) != 0) return -errno;
  *handle = p.handle;
  return 0;
}

/* GEM_CLOSE: 0 or -errno. */
static inline int vgem_close(int card, __u32 handle, __u32 pad) {
  struct drm_gem_close c = {.handle = handle, .pad = pad};
  return ioctl(card, DRM_IOCTL_GEM_CLOSE, &c) == 0 ? 0 : -errno;
}

#endif /* DMAHEAP_TESTS_CONFORMANCE_DRM_VGEM_H */
