/* Compiled as C11: the UAPI headers and the C ABI header are plain C, and the UAPI numbers and
 * layouts are those of Linux (kernel-facts.md §1). */
#include <stddef.h>

#include "dmaheap/c/dmaheap.h"
#include "dmaheap/version.h"
#include "dmaheap/uapi/linux/dma-buf.h"
#include "dmaheap/uapi/linux/dma-heap.h"

_Static_assert(sizeof(struct dma_heap_allocation_data) == 24, "24 bytes, no padding");
_Static_assert(offsetof(struct dma_heap_allocation_data, len) == 0, "len @0");
_Static_assert(offsetof(struct dma_heap_allocation_data, fd) == 8, "fd @8");
_Static_assert(offsetof(struct dma_heap_allocation_data, fd_flags) == 12, "fd_flags @12");
_Static_assert(offsetof(struct dma_heap_allocation_data, heap_flags) == 16, "heap_flags @16");
_Static_assert(DMA_HEAP_IOCTL_ALLOC == 0xC0184800u, "ALLOC");
_Static_assert(DMA_HEAP_VALID_FD_FLAGS == 0x80003, "O_CLOEXEC | O_ACCMODE");
_Static_assert(DMA_HEAP_VALID_HEAP_FLAGS == 0, "no heap flags");
_Static_assert(sizeof(struct dma_buf_sync) == 8, "dma_buf_sync");
_Static_assert(DMA_BUF_IOCTL_SYNC == 0x40086200u, "SYNC");
_Static_assert(DMA_BUF_SET_NAME_A == 0x40046201u, "SET_NAME_A");
_Static_assert(DMA_BUF_SET_NAME_B == 0x40086201u, "SET_NAME_B");
_Static_assert(DMA_BUF_SET_NAME == 0x40086201u, "SET_NAME on LP64");
_Static_assert(DMA_BUF_IOCTL_EXPORT_SYNC_FILE == 0xC0086202u, "EXPORT_SYNC_FILE");
_Static_assert(DMA_BUF_IOCTL_IMPORT_SYNC_FILE == 0x40086203u, "IMPORT_SYNC_FILE");
_Static_assert(sizeof(struct dma_buf_export_sync_file) == 8, "export_sync_file");
_Static_assert(offsetof(struct dma_buf_export_sync_file, fd) == 4, "export fd @4");
_Static_assert(sizeof(struct dma_buf_import_sync_file) == 8, "import_sync_file");
_Static_assert(DMA_BUF_SYNC_READ == 1 && DMA_BUF_SYNC_WRITE == 2 && DMA_BUF_SYNC_RW == 3, "dirs");
_Static_assert(DMA_BUF_SYNC_START == 0 && DMA_BUF_SYNC_END == 4, "phases");
_Static_assert(DMA_BUF_SYNC_VALID_FLAGS_MASK == 7, "mask");
_Static_assert(DMA_BUF_NAME_LEN == 32, "name length");

_Static_assert(DMAHEAP_VERSION == DMAHEAP_VERSION_MAJOR * 10000 + DMAHEAP_VERSION_MINOR * 100 +
                                      DMAHEAP_VERSION_PATCH,
               "one number");

/* The version compiled against is the version run against (this test links the build's). */
int dmaheap_c_version_matches(void) {
  extern int strcmp(const char*, const char*);
  return strcmp(dmaheap_version(), DMAHEAP_VERSION_STRING) == 0 &&
         dmaheap_version_number() == DMAHEAP_VERSION;
}

/* The C ABI from C: boot, allocate, sync, release, drain. Returns 0 or -errno. */
int dmaheap_c_smoke(void) {
  dmaheap_system *sys = NULL;
  int rc = dmaheap_system_boot(64u << 20, &sys);
  if (rc != 0) return rc;
  int fd = -1;
  rc = dmaheap_alloc(sys, "system", 4096, 0x80002 /* O_RDWR|O_CLOEXEC */, 0, &fd);
  if (rc == 0) rc = dmaheap_cpu_access_begin(fd, DMA_BUF_SYNC_RW);
  if (rc == 0) rc = dmaheap_cpu_access_end(fd, DMA_BUF_SYNC_RW);
  if (fd >= 0) {
    extern int close(int);
    close(fd);
  }
  if (rc == 0) rc = dmaheap_drain(sys);
  uint64_t total = 0, free_pages = 0;
  if (rc == 0) rc = dmaheap_memory(sys, &total, &free_pages);
  if (rc == 0 && total != free_pages) rc = -1000;
  dmaheap_system_destroy(sys);
  return rc;
}
