/* Built against an installed dmaheap with pkg-config; runs without LD_LIBRARY_PATH. */
#include <dmaheap/c/dmaheap.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

int main(void) {
  dmaheap_system *sys = NULL;
  int fd = -1;
  int rc = dmaheap_system_boot(64u << 20, &sys);
  if (rc == 0) rc = dmaheap_alloc(sys, "system", 4096, O_RDWR | O_CLOEXEC, 0, &fd);
  printf("alloc: %d fd %d\n", rc, fd);
  if (fd >= 0) close(fd);
  dmaheap_system_destroy(sys);
  return rc == 0 ? 0 : 1;
}
