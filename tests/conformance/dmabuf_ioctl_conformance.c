/*
 * The dma-buf ioctl cases (dmabuf_ioctl_cases.h) through ioctl(2) on buffers of
 * /dev/dma_heap/system: an unmodified UAPI program, run under `dmaheap run` — built dynamically
 * (the preload shim answers) and -static (the seccomp supervisor answers). Prints the
 * mismatches and "# cases: N, failed: F"; exit 0 iff none failed, 4 without /dev/dma_heap.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/dma-heap.h>

#include "dmabuf_ioctl_cases.h"

static int xioctl(int fd, unsigned long cmd, void *arg) {
  return ioctl(fd, cmd, arg) == 0 ? 0 : -errno;
}

static int alloc(int heap, uint32_t fd_flags) {
  struct dma_heap_allocation_data d = {.len = 16384, .fd = 0, .fd_flags = fd_flags};
  return ioctl(heap, DMA_HEAP_IOCTL_ALLOC, &d) == 0 ? (int)d.fd : -1;
}

int main(void) {
  const int heap = open("/dev/dma_heap/system", O_RDONLY | O_CLOEXEC);
  if (heap < 0) {
    printf("# no /dev/dma_heap/system: %s\n", strerror(errno));
    return 4;
  }
  const int rw = alloc(heap, O_RDWR | O_CLOEXEC);
  const int ro = alloc(heap, O_RDONLY | O_CLOEXEC);
  if (rw < 0 || ro < 0) {
    printf("# cannot allocate the test buffers\n");
    return 1;
  }
  const int failed = dmabuf_run_cases(rw, ro, xioctl, stdout);
  printf("# cases: %zu, failed: %d\n", sizeof(kDmabufCases) / sizeof(kDmabufCases[0]), failed);
  close(rw);
  close(ro);
  close(heap);
  return failed == 0 ? 0 : 1;
}
