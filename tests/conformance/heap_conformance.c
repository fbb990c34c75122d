/*
 * An unmodified DMA-BUF heap user: only libc and the Linux UAPI headers (<linux/dma-heap.h>,
 * <linux/dma-buf.h> from the system). It lists /dev/dma_heap, and for every heap checks what a
 * real kernel answers (kernel-facts.md §7 and §12), printing one TAP line per check.
 * Exit 0 iff every check passed; 4 when there is no /dev/dma_heap (the kselftest's SKIP).
 *
 * Argument "--static-memfd": built -static and run under a seccomp supervisor, buffer fds are
 * memfds to the kernel's file operations (read/write/lseek/ftruncate/fallocate/mmap are not
 * interceptable there): those rows are skipped.
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
#include <sys/stat.h>
#include <unistd.h>

static int g_n, g_failed;
static int g_static_memfd;

static void check(int ok, const char *heap, const char *what, long got, long want) {
  ++g_n;
  if (ok) {
    printf("ok %d %s: %s\n", g_n, heap, what);
  } else {
    ++g_failed;
    printf("not ok %d %s: %s (got %ld, want %ld)\n", g_n, heap, what, got, want);
  }
}

/* ioctl returning 0 or -errno. */
static long xioctl(int fd, unsigned long req, void *arg) {
  return ioctl(fd, req, arg) == 0 ? 0 : -errno;
}

static void expect_errno(const char *heap, const char *what, long got, long want) {
  check(got == want, heap, what, got, want);
}

static int alloc(int heap_fd, uint64_t len, uint32_t fd_flags) {
  struct dma_heap_allocation_data d = {.len = len, .fd = 0, .fd_flags = fd_flags};
  if (ioctl(heap_fd, DMA_HEAP_IOCTL_ALLOC, &d) != 0) return -errno;
  return (int)d.fd;
}

static long sync_flags(int fd, uint64_t flags) {
  struct dma_buf_sync s = {.flags = flags};
  return xioctl(fd, DMA_BUF_IOCTL_SYNC, &s);
}

static void test_heap(const char *name) {
  char path[256];
  snprintf(path, sizeof(path), "/dev/dma_heap/%s", name);
  int hfd = open(path, O_RDWR);
  check(hfd >= 0, name, "open O_RDWR", hfd < 0 ? -errno : 0, 0);
  if (hfd < 0) return;

  /* Basic allocation, mapping and CPU access. */
  int fd = alloc(hfd, 1 << 20, O_RDWR | O_CLOEXEC);
  check(fd > 0, name, "ALLOC 1 MiB", fd, 1);
  if (fd > 0) {
    check(lseek(fd, 0, SEEK_END) == 1 << 20, name, "size is 1 MiB", lseek(fd, 0, SEEK_END), 1 << 20);
    check((fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0, name, "O_CLOEXEC honoured", 0, 0);
    uint8_t *p = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    check(p != MAP_FAILED, name, "mmap RW shared", p == MAP_FAILED ? -errno : 0, 0);
    if (p != MAP_FAILED) {
      /* Every CPU access is bracketed, as non-coherent hardware needs (the kselftest brackets
       * its reads too): `dmaheap run --sanitize=sync` holds this program to it. */
      int zero = 1;
      sync_flags(fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ);
      for (int i = 0; i < 1 << 20; ++i) zero &= p[i] == 0;
      sync_flags(fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ);
      check(zero, name, "new buffer reads zero", 0, 0);
      expect_errno(name, "SYNC START|RW", sync_flags(fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW), 0);
      memset(p, 0xff, 1 << 20);
      expect_errno(name, "SYNC END|RW", sync_flags(fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW), 0);
      /* dup + close the original: the dup maps the same memory; a mapping outlives every fd.
       * The READ bracket is opened on the dup and stays open past its close: a process left
       * without an fd cannot END it, and needs not (the kernel never pairs SYNCs, and no device
       * can reach the buffer through this process any more). */
      int d = dup(fd);
      close(fd);
      uint8_t *q = mmap(NULL, 4096, PROT_READ, MAP_SHARED, d, 0);
      sync_flags(d, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ);
      check(q != MAP_FAILED && q[0] == 0xff, name, "dup maps the same memory", 0, 0);
      if (q != MAP_FAILED) munmap(q, 4096);
      close(d);
      check(p[4095] == 0xff, name, "mapping outlives every fd", p[4095], 0xff);
      munmap(p, 1 << 20);
    } else {
      close(fd);
    }
  }

  /* kselftest test_alloc_zeroed, 4 KiB: 32 filled, freed, 32 new ones read zero. */
  int fds[32], all_zero = 1, ok_alloc = 1;
  for (int i = 0; i < 32; ++i) {
    fds[i] = alloc(hfd, 4096, O_RDWR | O_CLOEXEC);
    if (fds[i] < 0) { ok_alloc = 0; continue; }
    uint8_t *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fds[i], 0);
    if (m == MAP_FAILED) { ok_alloc = 0; continue; }
    sync_flags(fds[i], DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW);
    memset(m, 0xff, 4096);
    sync_flags(fds[i], DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW);
    munmap(m, 4096);
  }
  for (int i = 0; i < 32; ++i) if (fds[i] >= 0) close(fds[i]);
  for (int i = 0; i < 32; ++i) {
    fds[i] = alloc(hfd, 4096, O_RDWR | O_CLOEXEC);
    if (fds[i] < 0) { ok_alloc = 0; continue; }
    uint8_t *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fds[i], 0);
    if (m == MAP_FAILED) { ok_alloc = 0; continue; }
    sync_flags(fds[i], DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ);
    for (int j = 0; j < 4096; ++j) all_zero &= m[j] == 0;
    sync_flags(fds[i], DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ);
    munmap(m, 4096);
  }
  for (int i = 0; i < 32; ++i) if (fds[i] >= 0) close(fds[i]);
  check(ok_alloc, name, "32+32 allocations", 0, 0);
  check(all_zero, name, "recycled memory reads zero", 0, 0);

  /* kselftest test_alloc_compat: older 16-byte and newer 48-byte structs. */
  struct { uint64_t len; uint32_t fd, fd_flags; } older = {1 << 20, 0, O_RDWR | O_CLOEXEC};
  long rc = xioctl(hfd, _IOWR(DMA_HEAP_IOC_MAGIC, 0x0, older), &older);
  check(rc == 0 && older.fd > 0, name, "16-byte struct (0xC0104800)", rc, 0);
  if (rc == 0) close((int)older.fd);
  struct { uint64_t len; uint32_t fd, fd_flags; uint64_t heap_flags; uint32_t g1, g2, g3, g4; }
      newer = {1 << 20, 0, O_RDWR | O_CLOEXEC, 0, 0xffffffff, 0x88888888, 0x11111111, 0};
  rc = xioctl(hfd, _IOWR(DMA_HEAP_IOC_MAGIC, 0x0, newer), &newer);
  check(rc == 0 && newer.fd > 0 && newer.g1 == 0xffffffff && newer.g3 == 0x11111111, name,
        "48-byte struct (0xC0304800), tail unchanged", rc, 0);
  if (rc == 0) close((int)newer.fd);

  /* Rounding and the kernel's EINVAL/EFAULT rows. */
  fd = alloc(hfd, 1, O_RDWR);
  check(fd > 0 && lseek(fd, 0, SEEK_END) == 4096, name, "len 1 → 4096", fd > 0 ? lseek(fd, 0, SEEK_END) : fd, 4096);
  if (fd > 0) {
    check((fcntl(fd, F_GETFD) & FD_CLOEXEC) == 0, name, "no O_CLOEXEC unless asked", 0, 0);
    close(fd);
  }
  fd = alloc(hfd, 4097, O_RDWR);
  check(fd > 0 && lseek(fd, 0, SEEK_END) == 8192, name, "len 4097 → 8192", fd > 0 ? lseek(fd, 0, SEEK_END) : fd, 8192);
  if (fd > 0) close(fd);
  expect_errno(name, "len 0", alloc(hfd, 0, O_RDWR), -EINVAL);
  expect_errno(name, "len 2^64-1", alloc(hfd, ~(uint64_t)0, O_RDWR), -EINVAL);
  expect_errno(name, "fd_flags 0xFFF7FFFD", alloc(hfd, 4096, 0xFFF7FFFD), -EINVAL);
  expect_errno(name, "fd_flags O_NONBLOCK", alloc(hfd, 4096, O_RDWR | O_NONBLOCK), -EINVAL);
  expect_errno(name, "fd_flags O_APPEND", alloc(hfd, 4096, O_RDWR | O_APPEND), -EINVAL);
  struct dma_heap_allocation_data d = {.len = 4096, .fd_flags = O_RDWR, .heap_flags = 0x111111};
  expect_errno(name, "heap_flags 0x111111", xioctl(hfd, DMA_HEAP_IOCTL_ALLOC, &d), -EINVAL);
  struct dma_heap_allocation_data d2 = {.len = 4096, .fd = 1, .fd_flags = O_RDWR};
  expect_errno(name, "fd field non-zero", xioctl(hfd, DMA_HEAP_IOCTL_ALLOC, &d2), -EINVAL);
  expect_errno(name, "nr 1", xioctl(hfd, _IOWR('H', 1, struct dma_heap_allocation_data), &d), -EINVAL);
  int avail = 0;
  expect_errno(name, "FIONREAD on a heap fd", xioctl(hfd, FIONREAD, &avail), -EINVAL);
  expect_errno(name, "NULL argument", xioctl(hfd, DMA_HEAP_IOCTL_ALLOC, NULL), -EFAULT);
  expect_errno(name, "bad pointer", xioctl(hfd, DMA_HEAP_IOCTL_ALLOC, (void *)16), -EFAULT);
  d.heap_flags = 0x111111;
  check(ioctl(0, DMA_HEAP_IOCTL_ALLOC, &d) != 0, name, "ALLOC on stdin fails", 0, 0);
  expect_errno(name, "lseek on a heap fd", lseek(hfd, 0, SEEK_SET) < 0 ? -errno : 0, -ESPIPE);

  /* Access modes. */
  fd = alloc(hfd, 4096, O_RDONLY);
  check(fd > 0 && (fcntl(fd, F_GETFL) & O_ACCMODE) == O_RDONLY, name, "O_RDONLY buffer", fd, 1);
  if (fd > 0) {
    void *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    expect_errno(name, "O_RDONLY + PROT_WRITE shared", m == MAP_FAILED ? -errno : 0, -EACCES);
    close(fd);
  }

  /* dma-buf ioctls on a buffer. */
  fd = alloc(hfd, 16384, O_RDWR | O_CLOEXEC);
  if (fd > 0) {
    static const uint64_t good[] = {0x1, 0x3, 0x6, 0x7};
    static const uint64_t bad[] = {0x0, 0x8, 0xb};
    for (unsigned i = 0; i < 4; ++i) expect_errno(name, "SYNC valid flags", sync_flags(fd, good[i]), 0);
    for (unsigned i = 0; i < 3; ++i) expect_errno(name, "SYNC invalid flags", sync_flags(fd, bad[i]), -EINVAL);
    expect_errno(name, "SET_NAME_B probe-name", xioctl(fd, DMA_BUF_SET_NAME_B, "probe-name"), 0);
    char longname[64];
    memset(longname, 'x', 63);
    longname[63] = 0;
    expect_errno(name, "SET_NAME_B 63 characters", xioctl(fd, DMA_BUF_SET_NAME_B, longname), -EINVAL);
    expect_errno(name, "SET_NAME_B bad pointer", xioctl(fd, DMA_BUF_SET_NAME_B, (void *)16), -EFAULT);
    struct dma_buf_export_sync_file e = {.flags = DMA_BUF_SYNC_RW, .fd = -1};
    rc = xioctl(fd, DMA_BUF_IOCTL_EXPORT_SYNC_FILE, &e);
    check(rc == 0 && e.fd >= 0, name, "EXPORT_SYNC_FILE gives an fd", rc, 0);
    if (rc == 0) {
      struct dma_buf_import_sync_file im = {.flags = DMA_BUF_SYNC_RW, .fd = e.fd};
      expect_errno(name, "IMPORT_SYNC_FILE of it", xioctl(fd, DMA_BUF_IOCTL_IMPORT_SYNC_FILE, &im), 0);
      close(e.fd);
    }
    struct dma_buf_export_sync_file e0 = {.flags = 0, .fd = -1};
    expect_errno(name, "EXPORT_SYNC_FILE flags 0", xioctl(fd, DMA_BUF_IOCTL_EXPORT_SYNC_FILE, &e0), -EINVAL);
    expect_errno(name, "unknown dma-buf ioctl", xioctl(fd, _IOW('b', 9, int), &avail), -ENOTTY);
    if (!g_static_memfd) {
      char c;
      expect_errno(name, "read", read(fd, &c, 1) < 0 ? -errno : 0, -EINVAL);
      expect_errno(name, "write", write(fd, "x", 1) < 0 ? -errno : 0, -EINVAL);
      expect_errno(name, "ftruncate", ftruncate(fd, 4096) < 0 ? -errno : 0, -EINVAL);
      expect_errno(name, "fallocate", fallocate(fd, 0, 0, 4096) < 0 ? -errno : 0, -ENODEV);
      check(lseek(fd, 0, SEEK_SET) == 0 && lseek(fd, 0, SEEK_END) == 16384, name, "lseek SET 0 / END 0", 0, 0);
      expect_errno(name, "lseek SET 100", lseek(fd, 100, SEEK_SET) < 0 ? -errno : 0, -EINVAL);
      expect_errno(name, "lseek CUR 0", lseek(fd, 0, SEEK_CUR) < 0 ? -errno : 0, -EINVAL);
      void *m = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, fd, 0);
      expect_errno(name, "mmap MAP_PRIVATE", m == MAP_FAILED ? -errno : 0, -EINVAL);
      m = mmap(NULL, 8192, PROT_READ, MAP_SHARED, fd, 12288);
      expect_errno(name, "mmap crossing the end", m == MAP_FAILED ? -errno : 0, -EINVAL);
      m = mmap(NULL, 32768, PROT_READ, MAP_SHARED, fd, 0);
      expect_errno(name, "mmap beyond the size", m == MAP_FAILED ? -errno : 0, -EINVAL);
    }
    close(fd);
  }
  close(hfd);
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  g_static_memfd = argc > 1 && strcmp(argv[1], "--static-memfd") == 0;
  printf("TAP version 13\n");
  DIR *dir = opendir("/dev/dma_heap");
  if (dir == NULL) {
    printf("# No /dev/dma_heap directory?\n");
    return 4;
  }
  int heaps = 0;
  struct dirent *e;
  while ((e = readdir(dir)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    printf("# Testing heap: %s\n", e->d_name);
    test_heap(e->d_name);
    ++heaps;
  }
  closedir(dir);
  printf("1..%d\n# heaps: %d, failed: %d\n", g_n, heaps, g_failed);
  return heaps > 0 && g_failed == 0 ? 0 : 1;
}
