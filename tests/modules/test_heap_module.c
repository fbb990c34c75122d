/* A complete heap module with an exit: heap "test_heap", buffers of order-0 pages, released
 * back to the page allocator. Unloadable once its last buffer is gone. */
#include <errno.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "dmaheap/kapi.h"
#include "dmaheap/module.h"

struct test_buffer {
  struct dma_heap *heap;
  size_t count;
  struct dma_buf_sg_entry table[];
};

static void test_release(void *priv) {
  struct test_buffer *b = priv;
  for (size_t i = 0; i < b->count; ++i) __free_pages(b->heap, b->table[i].dma_address >> 12, 0);
  free(b);
}

static int test_mmap(void *priv, uint64_t off, uint64_t len, int prot, int flags) {
  (void)priv, (void)off, (void)len, (void)prot;
  return (flags & MAP_TYPE) == MAP_SHARED ? 0 : -EINVAL;
}

static const struct dma_buf_sg_entry *test_sg(void *priv, size_t *count) {
  struct test_buffer *b = priv;
  *count = b->count;
  return b->table;
}

static const struct dma_buf_ops test_buf_ops = {
    .release = test_release, .mmap = test_mmap, .sg_table = test_sg};

static int test_allocate(struct dma_heap *heap, uint64_t len, uint32_t fd_flags,
                         uint64_t heap_flags, struct dma_buf **out) {
  (void)heap_flags;
  const size_t pages = len / 4096;
  if (pages > nr_free_pages(heap)) return -ENOMEM;
  struct test_buffer *b = calloc(1, sizeof(*b) + pages * sizeof(b->table[0]));
  if (b == NULL) return -ENOMEM;
  b->heap = heap;
  for (; b->count < pages; ++b->count) {
    uint64_t pfn;
    if (alloc_pages(heap, 0, &pfn) != 0) {
      test_release(b);
      return -ENOMEM;
    }
    b->table[b->count].dma_address = pfn << 12;
    b->table[b->count].length = 4096;
  }
  struct dma_buf_export_info info = {&test_buf_ops, len, fd_flags, b};
  int rc = dma_buf_export(heap, &info, out);
  if (rc != 0) test_release(b);
  return rc;
}

static const struct dma_heap_ops test_heap_ops = {.allocate = test_allocate};

DMAHEAP_MODULE_ENTRY int test_heap_init(struct dmaheap_module *module) {
  struct dma_heap_export_info info = {"test_heap", &test_heap_ops, NULL};
  struct dma_heap *heap;
  return dma_heap_add(module, &info, &heap);
}
DMAHEAP_MODULE_ENTRY void test_heap_exit(void) {}

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("dmaheap test heap");
MODULE_IMPORT_NS("DMA_BUF_HEAP");
MODULE_IMPORT_NS("DMA_BUF");
DMAHEAP_MODULE(test_heap_module, test_heap_init, test_heap_exit);
