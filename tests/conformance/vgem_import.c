/*
 * An unmodified vgem importer: only libc and the kernel's UAPI (drm_vgem.h says where the DRM
 * definitions come from). It finds the vgem card exactly as the kernel's dma-buf heap selftest
 * does, then checks what Linux answers (drivers/gpu/drm: drm_ioctl.c, drm_prime.c, drm_gem.c,
 * vgem/vgem_drv.c; 6.1, where 6.12 differs both are accepted): DRM_IOCTL_VERSION's copy rules,
 * PRIME_FD_TO_HANDLE of a buffer from every heap (the same buffer is the same handle, per file),
 * SYNC after the import, GEM_CLOSE, and the errnos of bad fds, non-dma-buf fds and bad handles.
 * One TAP line per check. Exit 0 iff all passed; 4 (the kselftest's SKIP) when no vgem card is
 * found at /dev/dri/card0..15.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/dma-buf.h>
#include <linux/dma-heap.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "drm_vgem.h"

static int g_n, g_failed;

static void check(int ok, const char *what, long got, long want) {
  ++g_n;
  if (ok) {
    printf("ok %d %s\n", g_n, what);
  } else {
    ++g_failed;
    printf("not ok %d %s (got %ld, want %ld)\n", g_n, what, got, want);
  }
}

static void expect(const char *what, long got, long want) { check(got == want, what, got, want); }

static long xioctl(int fd, unsigned long req, void *arg) {
  return ioctl(fd, req, arg) == 0 ? 0 : -errno;
}

static long sync_buf(int fd, uint64_t flags) {
  struct dma_buf_sync s = {.flags = flags};
  return xioctl(fd, DMA_BUF_IOCTL_SYNC, &s);
}

/* A page this process cannot touch: a pointer the kernel must answer EFAULT for. */
static void *no_access_page(void) {
  void *p = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  return p == MAP_FAILED ? NULL : p;
}

static void test_version(int card, unsigned card_no) {
  struct drm_version v;
  memset(&v, 0, sizeof(v));
  v.version_major = v.version_minor = v.version_patchlevel = -1;
  expect("VERSION with no buffers", xioctl(card, DRM_IOCTL_VERSION, &v), 0);
  expect("VERSION major 1", v.version_major, 1);
  expect("VERSION minor 0", v.version_minor, 0);
  expect("VERSION patchlevel 0", v.version_patchlevel, 0);
  expect("VERSION name_len is strlen(\"vgem\")", (long)v.name_len, 4);
  /* 6.1 reports vgem's date "20120112"; from 6.11 every driver's date is "0". */
  check(v.date_len == 8 || v.date_len == 1, "VERSION date_len 8 (<= 6.10) or 1 (>= 6.11)",
        (long)v.date_len, 8);
  expect("VERSION desc_len is strlen(\"Virtual GEM provider\")", (long)v.desc_len, 20);

  char name[16], date[16], desc[32];
  memset(name, 'x', sizeof(name));
  memset(date, 'x', sizeof(date));
  memset(desc, 'x', sizeof(desc));
  memset(&v, 0, sizeof(v));
  v.name_len = 2;
  v.name = name;
  v.date_len = sizeof(date);
  v.date = date;
  v.desc_len = sizeof(desc);
  v.desc = desc;
  expect("VERSION with buffers", xioctl(card, DRM_IOCTL_VERSION, &v), 0);
  check(memcmp(name, "vgx", 3) == 0, "VERSION copies at most name_len bytes (\"vg\")", name[2],
        'x');
  expect("VERSION name_len comes back as the full length", (long)v.name_len, 4);
  check((v.date_len == 8 && memcmp(date, "20120112x", 9) == 0) ||
            (v.date_len == 1 && memcmp(date, "0x", 2) == 0),
        "VERSION date \"20120112\" or \"0\", no NUL after it",
        date[v.date_len < sizeof(date) ? v.date_len : 0], 'x');
  check(memcmp(desc, "Virtual GEM providerx", 21) == 0, "VERSION desc, no NUL after it", desc[20],
        'x');

  /* drm_copy_field copies only when the pointer is not NULL: a NULL one with room is skipped. */
  memset(&v, 0, sizeof(v));
  v.name_len = 4;
  expect("VERSION with a NULL name and name_len 4", xioctl(card, DRM_IOCTL_VERSION, &v), 0);
  expect("VERSION name_len after a NULL name", (long)v.name_len, 4);

  void *bad = no_access_page();
  memset(&v, 0, sizeof(v));
  v.name_len = 4;
  v.name = bad;
  v.desc_len = 3;
  expect("VERSION with an unwritable name", xioctl(card, DRM_IOCTL_VERSION, &v), -EFAULT);
  expect("VERSION's lengths still come back after EFAULT", (long)v.name_len, 4);
  expect("VERSION stops at the first fault (desc_len untouched)", (long)v.desc_len, 3);
  expect("VERSION with an unreadable argument", xioctl(card, DRM_IOCTL_VERSION, bad), -EFAULT);
  if (bad != NULL) munmap(bad, 4096);

  /* drm_open: no access-mode check; no exclusive opens. */
  char path[32];
  snprintf(path, sizeof(path), "/dev/dri/card%u", card_no);
  int ro = open(path, O_RDONLY | O_CLOEXEC);
  check(ro >= 0, "the card opens O_RDONLY", ro < 0 ? -errno : 0, 0);
  memset(&v, 0, sizeof(v));
  if (ro >= 0) expect("VERSION on an O_RDONLY card", xioctl(ro, DRM_IOCTL_VERSION, &v), 0);
  if (ro >= 0) close(ro);
  int excl = open(path, O_RDWR | O_EXCL | O_CLOEXEC);
  expect("the card refuses O_EXCL", excl < 0 ? -errno : 0, -EBUSY);
  if (excl >= 0) close(excl);
}

static void test_errors(int card) {
  __u32 h = 0;
  expect("FD_TO_HANDLE fd -1", vgem_import(card, -1, 0, &h), -EBADF);
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) p[0] = p[1] = -1;
  expect("FD_TO_HANDLE a pipe", vgem_import(card, p[0], 0, &h), -EINVAL);
  close(p[0]);
  close(p[1]);
  expect("FD_TO_HANDLE a closed fd", vgem_import(card, p[0], 0, &h), -EBADF);
  int file = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
  expect("FD_TO_HANDLE a regular file", vgem_import(card, file, 0, &h), -EINVAL);
  if (file >= 0) close(file);
  expect("FD_TO_HANDLE the card itself", vgem_import(card, card, 0, &h), -EINVAL);
  expect("GEM_CLOSE handle 0", vgem_close(card, 0, 0), -EINVAL);
  expect("GEM_CLOSE an unknown handle", vgem_close(card, 0x7fffffff, 0), -EINVAL);
  /* drm_ioctl: another ioctl type is ENOTTY; an nr no table has a function for is EINVAL. */
  struct dma_buf_sync s = {.flags = DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW};
  expect("a dma-buf ioctl on the card", xioctl(card, DMA_BUF_IOCTL_SYNC, &s), -ENOTTY);
  expect("an nr past the core table", xioctl(card, DRM_IO(0xf0), NULL), -EINVAL);
  expect("an nr past vgem's table", xioctl(card, DRM_IO(DRM_COMMAND_BASE + 0x20), NULL), -EINVAL);
}

static int alloc_buf(int heap, uint64_t len) {
  struct dma_heap_allocation_data d = {.len = len, .fd = 0, .fd_flags = O_RDWR | O_CLOEXEC};
  return ioctl(heap, DMA_HEAP_IOCTL_ALLOC, &d) == 0 ? (int)d.fd : -errno;
}

static void test_heap(int card, const char *heap_name) {
  char what[160];
#define WHAT(s) (snprintf(what, sizeof(what), "%s: %s", heap_name, s), what)
  char path[256];
  snprintf(path, sizeof(path), "/dev/dma_heap/%s", heap_name);
  int heap = open(path, O_RDWR | O_CLOEXEC);
  check(heap >= 0, WHAT("open the heap"), heap < 0 ? -errno : 0, 0);
  if (heap < 0) return;
  const size_t len = 1 << 20;
  int buf = alloc_buf(heap, len), other = alloc_buf(heap, len);
  check(buf > 0 && other > 0, WHAT("ALLOC two 1 MiB buffers"), buf < 0 ? buf : other, 1);
  if (buf <= 0 || other <= 0) goto out;
  uint8_t *map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, buf, 0);
  check(map != MAP_FAILED, WHAT("mmap"), map == MAP_FAILED ? -errno : 0, 0);
  if (map == MAP_FAILED) goto out;
  sync_buf(buf, DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW);
  memset(map, 0x01, len);
  sync_buf(buf, DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW);

  __u32 h = 0, again = 0, via_dup = 0, via_card_dup = 0, h2 = 0;
  expect(WHAT("FD_TO_HANDLE"), vgem_import(card, buf, 0, &h), 0);
  check(h != 0, WHAT("the handle is not 0"), h, 1);
  expect(WHAT("FD_TO_HANDLE again (flags unchecked)"), vgem_import(card, buf, 0x123, &again), 0);
  expect(WHAT("the same buffer is the same handle"), again, h);
  int buf_dup = dup(buf);
  vgem_import(card, buf_dup, 0, &via_dup);
  expect(WHAT("a dup of the buffer is the same handle"), via_dup, h);
  close(buf_dup);
  int card_dup = dup(card);
  vgem_import(card_dup, buf, 0, &via_card_dup);
  expect(WHAT("through a dup of the card: the same file, the same handle"), via_card_dup, h);
  close(card_dup);
  expect(WHAT("FD_TO_HANDLE another buffer"), vgem_import(card, other, 0, &h2), 0);
  check(h2 != 0 && h2 != h, WHAT("another buffer is another handle"), h2, h + 1);

  /* The selftest's check: CPU access still brackets with SYNC once a device has the buffer. */
  expect(WHAT("SYNC START after the import"), sync_buf(buf, DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW),
         0);
  memset(map, 0xff, len);
  expect(WHAT("SYNC END after the import"), sync_buf(buf, DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW), 0);
  sync_buf(buf, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ);
  check(map[0] == 0xff && map[len - 1] == 0xff, WHAT("the buffer keeps what the CPU wrote"), map[0],
        0xff);
  sync_buf(buf, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ);

  /* Handles are not counted: one GEM_CLOSE releases what two imports gave. */
  expect(WHAT("GEM_CLOSE"), vgem_close(card, h, 0), 0);
  expect(WHAT("GEM_CLOSE the same handle again"), vgem_close(card, h, 0), -EINVAL);
  expect(WHAT("GEM_CLOSE with pad set (unchecked)"), vgem_close(card, h2, 0xffffffffu), 0);
  __u32 re = 0;
  expect(WHAT("FD_TO_HANDLE after GEM_CLOSE"), vgem_import(card, buf, 0, &re), 0);
  check(re != 0, WHAT("a new handle"), re, 1);
  expect(WHAT("GEM_CLOSE it"), vgem_close(card, re, 0), 0);
  munmap(map, len);
out:
  if (buf > 0) close(buf);
  if (other > 0) close(other);
  close(heap);
#undef WHAT
}

/* Handles are per DRM file: a new open starts at 1 and knows none of the other file's. */
static void test_files(int card, unsigned card_no, int heap_fd) {
  int buf = alloc_buf(heap_fd, 4096);
  if (buf < 0) {
    check(0, "ALLOC for the two-file checks", buf, 0);
    return;
  }
  __u32 h = 0, fresh = 0;
  expect("FD_TO_HANDLE on the first file", vgem_import(card, buf, 0, &h), 0);
  char path[32];
  snprintf(path, sizeof(path), "/dev/dri/card%u", card_no);
  int second = open(path, O_RDWR | O_CLOEXEC);
  check(second >= 0, "a second open of the card", second < 0 ? -errno : 0, 0);
  if (second >= 0) {
    expect("the second file does not hold the first file's handle", vgem_close(second, h, 0),
           -EINVAL);
    expect("FD_TO_HANDLE on the second file", vgem_import(second, buf, 0, &fresh), 0);
    expect("a new file's first handle is 1", fresh, 1);
    close(second);
  }
  expect("the first file still holds its handle", vgem_close(card, h, 0), 0);
  close(buf);
}

int main(void) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  printf("TAP version 13\n");
  unsigned card_no = 0;
  int card = open_vgem_card(&card_no);
  if (card < 0) {
    printf("# no vgem card at /dev/dri/card0..15\n1..0 # SKIP no vgem\n");
    return 4;
  }
  printf("# vgem is /dev/dri/card%u\n", card_no);
  test_version(card, card_no);
  test_errors(card);

  int heaps = 0;
  DIR *d = opendir("/dev/dma_heap");
  check(d != NULL, "opendir /dev/dma_heap", d == NULL ? -errno : 0, 0);
  for (struct dirent *e; d != NULL && (e = readdir(d)) != NULL;) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    printf("# heap %s\n", e->d_name);
    test_heap(card, e->d_name);
    ++heaps;
  }
  if (d != NULL) closedir(d);
  check(heaps > 0, "at least one heap", heaps, 1);
  int system_heap = open("/dev/dma_heap/system", O_RDWR | O_CLOEXEC);
  if (system_heap >= 0) {
    test_files(card, card_no, system_heap);
    close(system_heap);
  }
  close(card);
  printf("1..%d\n# vgem card%u, heaps: %d, failed: %d\n", g_n, card_no, heaps, g_failed);
  return g_failed == 0 ? 0 : 1;
}
