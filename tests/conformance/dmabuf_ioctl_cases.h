/*
 * The dma-buf ioctls on a buffer fd, as a table of cases with the answer a real kernel gives
 * (kernel-facts.md §1.2, §6 and §12), shared by every mode that serves them: the embedded API
 * (tests/dmabuf_ioctl_test.cc calls dmaheap::BufferIoctl), the preload shim and the seccomp
 * supervisor (tests/conformance/dmabuf_ioctl_conformance.c calls ioctl(2) under `dmaheap run`,
 * built dynamically and -static). One table, one answer per case, in every mode.
 *
 * C and C++; header-only (static functions). The caller passes an ioctl that returns 0 or -errno.
 */
#ifndef DMAHEAP_TESTS_CONFORMANCE_DMABUF_IOCTL_CASES_H
#define DMAHEAP_TESTS_CONFORMANCE_DMABUF_IOCTL_CASES_H

#include <errno.h>
#include <linux/dma-buf.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

typedef int (*dmabuf_ioctl_fn)(int fd, unsigned long cmd, void *arg);

enum dmabuf_case_arg {
  CASE_SYNC,          /* struct dma_buf_sync with .flags = value */
  CASE_NULL,          /* a NULL argument */
  CASE_UNREADABLE,    /* a pointer to a PROT_NONE page */
  CASE_NAME,          /* a NUL-terminated name of `value` characters */
  CASE_NAME_AT_EDGE,  /* `value` characters right before a PROT_NONE page, no NUL */
  CASE_EXPORT,        /* struct dma_buf_export_sync_file with .flags = value */
  CASE_IMPORT_OWN,    /* IMPORT of a sync file this process just exported, .flags = value */
  CASE_IMPORT_FD,     /* IMPORT with .fd = the buffer fd itself, .flags = value */
  CASE_INT            /* an int */
};

struct dmabuf_case {
  const char *what;
  unsigned long cmd;
  enum dmabuf_case_arg arg;
  uint64_t value;
  int read_only; /* run on the O_RDONLY buffer */
  int expected;  /* 0 or -errno */
};

#define DMABUF_SYNC_CASE(flags, want) \
  { "SYNC flags " #flags, DMA_BUF_IOCTL_SYNC, CASE_SYNC, flags, 0, want }

static const struct dmabuf_case kDmabufCases[] = {
    /* Every combination of the four low flag bits, and bits beyond them (§12). */
    DMABUF_SYNC_CASE(0x0, -EINVAL), DMABUF_SYNC_CASE(0x1, 0), DMABUF_SYNC_CASE(0x2, 0),
    DMABUF_SYNC_CASE(0x3, 0), DMABUF_SYNC_CASE(0x4, -EINVAL), DMABUF_SYNC_CASE(0x5, 0),
    DMABUF_SYNC_CASE(0x6, 0), DMABUF_SYNC_CASE(0x7, 0), DMABUF_SYNC_CASE(0x8, -EINVAL),
    DMABUF_SYNC_CASE(0x9, -EINVAL), DMABUF_SYNC_CASE(0xa, -EINVAL), DMABUF_SYNC_CASE(0xb, -EINVAL),
    DMABUF_SYNC_CASE(0xc, -EINVAL), DMABUF_SYNC_CASE(0xd, -EINVAL), DMABUF_SYNC_CASE(0xe, -EINVAL),
    DMABUF_SYNC_CASE(0xf, -EINVAL), DMABUF_SYNC_CASE(0x100000003, -EINVAL),
    DMABUF_SYNC_CASE(0x8000000000000001, -EINVAL),
    /* The file's access mode is not checked by SYNC. */
    {"SYNC WRITE on a read-only buffer", DMA_BUF_IOCTL_SYNC, CASE_SYNC, 0x2, 1, 0},
    {"SYNC NULL", DMA_BUF_IOCTL_SYNC, CASE_NULL, 0, 0, -EFAULT},
    {"SYNC unreadable", DMA_BUF_IOCTL_SYNC, CASE_UNREADABLE, 0, 0, -EFAULT},
    /* SET_NAME: strndup_user(arg, 32), both numbers (§1.2). */
    {"SET_NAME_B 0 characters", DMA_BUF_SET_NAME_B, CASE_NAME, 0, 0, 0},
    {"SET_NAME_B 31 characters", DMA_BUF_SET_NAME_B, CASE_NAME, 31, 0, 0},
    {"SET_NAME_B 32 characters", DMA_BUF_SET_NAME_B, CASE_NAME, 32, 0, -EINVAL},
    {"SET_NAME_B 33 characters", DMA_BUF_SET_NAME_B, CASE_NAME, 33, 0, -EINVAL},
    {"SET_NAME_A 31 characters", DMA_BUF_SET_NAME_A, CASE_NAME, 31, 0, 0},
    {"SET_NAME_A 32 characters", DMA_BUF_SET_NAME_A, CASE_NAME, 32, 0, -EINVAL},
    {"SET_NAME_B on a read-only buffer", DMA_BUF_SET_NAME_B, CASE_NAME, 10, 1, 0},
    {"SET_NAME_B NULL", DMA_BUF_SET_NAME_B, CASE_NULL, 0, 0, -EFAULT},
    {"SET_NAME_B unreadable", DMA_BUF_SET_NAME_B, CASE_UNREADABLE, 0, 0, -EFAULT},
    {"SET_NAME_B 4 characters, then the unreadable page", DMA_BUF_SET_NAME_B, CASE_NAME_AT_EDGE, 4,
     0, -EFAULT},
    /* EXPORT/IMPORT_SYNC_FILE (v6.0+): flags ⊆ RW and non-zero. */
    {"EXPORT_SYNC_FILE RW", DMA_BUF_IOCTL_EXPORT_SYNC_FILE, CASE_EXPORT, DMA_BUF_SYNC_RW, 0, 0},
    {"EXPORT_SYNC_FILE READ", DMA_BUF_IOCTL_EXPORT_SYNC_FILE, CASE_EXPORT, DMA_BUF_SYNC_READ, 0, 0},
    {"EXPORT_SYNC_FILE on a read-only buffer", DMA_BUF_IOCTL_EXPORT_SYNC_FILE, CASE_EXPORT,
     DMA_BUF_SYNC_WRITE, 1, 0},
    {"EXPORT_SYNC_FILE flags 0", DMA_BUF_IOCTL_EXPORT_SYNC_FILE, CASE_EXPORT, 0, 0, -EINVAL},
    {"EXPORT_SYNC_FILE flags END", DMA_BUF_IOCTL_EXPORT_SYNC_FILE, CASE_EXPORT, DMA_BUF_SYNC_END, 0,
     -EINVAL},
    {"EXPORT_SYNC_FILE flags RW|8", DMA_BUF_IOCTL_EXPORT_SYNC_FILE, CASE_EXPORT, 0xb, 0, -EINVAL},
    {"EXPORT_SYNC_FILE NULL", DMA_BUF_IOCTL_EXPORT_SYNC_FILE, CASE_NULL, 0, 0, -EFAULT},
    {"IMPORT_SYNC_FILE of an exported one", DMA_BUF_IOCTL_IMPORT_SYNC_FILE, CASE_IMPORT_OWN,
     DMA_BUF_SYNC_WRITE, 0, 0},
    {"IMPORT_SYNC_FILE of the buffer fd", DMA_BUF_IOCTL_IMPORT_SYNC_FILE, CASE_IMPORT_FD,
     DMA_BUF_SYNC_WRITE, 0, -EINVAL},
    {"IMPORT_SYNC_FILE flags 0", DMA_BUF_IOCTL_IMPORT_SYNC_FILE, CASE_IMPORT_OWN, 0, 0, -EINVAL},
    {"IMPORT_SYNC_FILE NULL", DMA_BUF_IOCTL_IMPORT_SYNC_FILE, CASE_NULL, 0, 0, -EFAULT},
    /* Numbers a dma-buf does not have (§6, §12). */
    {"_IOW('b', 9, int)", _IOW('b', 9, int), CASE_INT, 0, 0, -ENOTTY},
    {"SYNC's nr with a 4-byte size", _IOW('b', 0, uint32_t), CASE_SYNC, 0x3, 0, -ENOTTY},
    {"SET_NAME's nr read-write", _IOWR('b', 1, uint64_t), CASE_NAME, 4, 0, -ENOTTY},
    {"FIONREAD", FIONREAD, CASE_INT, 0, 0, -ENOTTY},
    {"_IO('b', 0)", _IO('b', 0), CASE_INT, 0, 0, -ENOTTY},
};

/* Runs one case on `fd`; returns the answer (0 or -errno). `edge` is two pages, the second
 * PROT_NONE. */
static int dmabuf_run_case(const struct dmabuf_case *c, int fd, dmabuf_ioctl_fn call,
                           unsigned char *edge) {
  unsigned char *unreadable = edge + 4096;
  switch (c->arg) {
    case CASE_SYNC: {
      struct dma_buf_sync s;
      s.flags = c->value;
      return call(fd, c->cmd, &s);
    }
    case CASE_NULL:
      return call(fd, c->cmd, NULL);
    case CASE_UNREADABLE:
      return call(fd, c->cmd, unreadable);
    case CASE_NAME: {
      char name[64];
      memset(name, 'n', sizeof(name));
      name[c->value] = '\0';
      return call(fd, c->cmd, name);
    }
    case CASE_NAME_AT_EDGE:
      memset(unreadable - c->value, 'n', c->value);
      return call(fd, c->cmd, unreadable - c->value);
    case CASE_EXPORT: {
      struct dma_buf_export_sync_file e;
      e.flags = (uint32_t)c->value;
      e.fd = -1;
      int rc = call(fd, c->cmd, &e);
      if (rc == 0 && (e.fd < 0 || fcntl(e.fd, F_GETFD) != FD_CLOEXEC)) rc = -1000;  /* no fd */
      if (rc == 0) close(e.fd);
      return rc;
    }
    case CASE_IMPORT_OWN: {
      struct dma_buf_export_sync_file e;
      e.flags = DMA_BUF_SYNC_RW;
      e.fd = -1;
      if (call(fd, DMA_BUF_IOCTL_EXPORT_SYNC_FILE, &e) != 0) return -1001;
      struct dma_buf_import_sync_file i;
      i.flags = (uint32_t)c->value;
      i.fd = e.fd;
      int rc = call(fd, c->cmd, &i);
      close(e.fd);
      return rc;
    }
    case CASE_IMPORT_FD: {
      struct dma_buf_import_sync_file i;
      i.flags = (uint32_t)c->value;
      i.fd = fd;
      return call(fd, c->cmd, &i);
    }
    case CASE_INT: {
      int value = 0;
      return call(fd, c->cmd, &value);
    }
  }
  return -1002;
}

/* Runs every case on the O_RDWR buffer `rw_fd` or the O_RDONLY buffer `ro_fd`; prints each
 * mismatch to `log` and returns their number (-1 when the test pages cannot be mapped). */
static int dmabuf_run_cases(int rw_fd, int ro_fd, dmabuf_ioctl_fn call, FILE *log) {
  unsigned char *edge = (unsigned char *)mmap(NULL, 8192, PROT_READ | PROT_WRITE,
                                              MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (edge == MAP_FAILED || mprotect(edge + 4096, 4096, PROT_NONE) != 0) return -1;
  int failed = 0;
  for (size_t i = 0; i < sizeof(kDmabufCases) / sizeof(kDmabufCases[0]); ++i) {
    const struct dmabuf_case *c = &kDmabufCases[i];
    const int got = dmabuf_run_case(c, c->read_only ? ro_fd : rw_fd, call, edge);
    if (got != c->expected) {
      ++failed;
      fprintf(log, "dma-buf ioctl case \"%s\": got %d, want %d\n", c->what, got, c->expected);
    }
  }
  munmap(edge, 8192);
  return failed;
}

#endif /* DMAHEAP_TESTS_CONFORMANCE_DMABUF_IOCTL_CASES_H */
