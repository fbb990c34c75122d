/* Runs under the preload shim: keeps one heap fd open and allocates on command, so a test can
 * stop and restart the daemon in between. stdin: 'a' = ALLOC 4096 (prints "0" or "-errno"),
 * 'n' = ALLOC and DMA_BUF_SET_NAME_B "probe-name", keeping the buffer (prints the result),
 * 'q' = quit. */
#include <linux/dma-buf.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/dma-heap.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <unistd.h>

int main(void) {
  setvbuf(stdout, NULL, _IONBF, 0);
  int hfd = open("/dev/dma_heap/system", O_RDWR | O_CLOEXEC);
  if (hfd < 0) {
    printf("open -%d\n", errno);
    return 1;
  }
  printf("ready\n");
  int c;
  while ((c = getchar()) != EOF) {
    if (c == 'q') break;
    if (c == 'n') {
      struct dma_heap_allocation_data d = {.len = 8192, .fd_flags = O_RDWR | O_CLOEXEC};
      if (ioctl(hfd, DMA_HEAP_IOCTL_ALLOC, &d) != 0) {
        printf("-%d\n", errno);
      } else if (ioctl((int)d.fd, DMA_BUF_SET_NAME_B, "probe-name") != 0) {
        printf("-%d\n", errno);
      } else {
        printf("0\n");
      }
      continue;
    }
    if (c != 'a') continue;
    struct dma_heap_allocation_data d = {.len = 4096, .fd_flags = O_RDWR | O_CLOEXEC};
    if (ioctl(hfd, DMA_HEAP_IOCTL_ALLOC, &d) == 0) {
      close((int)d.fd);
      printf("0\n");
    } else {
      printf("-%d\n", errno);
    }
  }
  return 0;
}
