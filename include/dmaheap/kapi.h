/*
 * The core's API for heap modules ("kernel API"): C, with the kernel's names, exported to
 * modules from the core's export tables (classes and namespaces as noted; see module.h for how
 * a module declares its license and imports). Errors are 0 / -errno.
 *
 * A module registers heaps only through the `struct dmaheap_module *` its init function
 * receives; that context is valid during init only (static constructors, which run when the
 * module is mapped, have none).
 */
#ifndef DMAHEAP_KAPI_H
#define DMAHEAP_KAPI_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

struct dma_heap;
struct dma_buf;
struct dmaheap_module;

enum dma_data_direction { DMA_BIDIRECTIONAL = 0, DMA_TO_DEVICE = 1, DMA_FROM_DEVICE = 2 };

/* One sg entry: a modelled DMA address and a length. */
struct dma_buf_sg_entry {
  uint64_t dma_address;
  uint64_t length;
};

/* struct dma_buf_ops: what the exporter does for one buffer; `priv` is its buffer. */
struct dma_buf_ops {
  /* Required. The last fd and mapping are gone: give the memory back and free priv. */
  void (*release)(void *priv);
  /* Optional: CPU access bracketing (DMA_BUF_IOCTL_SYNC START/END); 0 or -errno. */
  int (*begin_cpu_access)(void *priv, enum dma_data_direction dir);
  int (*end_cpu_access)(void *priv, enum dma_data_direction dir);
  /* Optional: may this range be mapped? The core has checked the range; NULL refuses every
   * mapping (-EINVAL), as dma_buf_mmap does. */
  int (*mmap)(void *priv, uint64_t offset, uint64_t length, int prot, int flags);
  /* Optional: the modelled sg table of the whole buffer (count entries). */
  const struct dma_buf_sg_entry *(*sg_table)(void *priv, size_t *count);
};

struct dma_buf_export_info {
  const struct dma_buf_ops *ops;
  uint64_t size;  /* the page-aligned length the heap was asked for */
  uint32_t flags; /* the request's fd_flags */
  void *priv;
};

/* struct dma_heap_ops. allocate: len is page-aligned and non-zero, fd_flags are valid,
 * heap_flags are 0. On success *out is the dma_buf_export result. */
struct dma_heap_ops {
  int (*allocate)(struct dma_heap *heap, uint64_t len, uint32_t fd_flags, uint64_t heap_flags,
                  struct dma_buf **out);
};

struct dma_heap_export_info {
  const char *name;
  const struct dma_heap_ops *ops;
  void *priv;
};

/* GPL-only, namespace DMA_BUF_HEAP. -EINVAL: empty name, no allocate, or no valid context;
 * -EEXIST: the name is taken; -EBUSY: 128 heaps. */
int dma_heap_add(struct dmaheap_module *module, const struct dma_heap_export_info *info,
                 struct dma_heap **out);
void *dma_heap_get_drvdata(struct dma_heap *heap);
const char *dma_heap_get_name(struct dma_heap *heap);

/* GPL-only, namespace DMA_BUF. Creates the buffer's memory (a sealed memfd) and registers it;
 * on failure release is not called and priv stays the caller's. */
int dma_buf_export(struct dma_heap *heap, const struct dma_buf_export_info *info,
                   struct dma_buf **out);

/* GPL-only: the modelled page allocator of the heap's System (buddy, orders 0..10). */
int alloc_pages(struct dma_heap *heap, unsigned int order, uint64_t *pfn);
void __free_pages(struct dma_heap *heap, uint64_t pfn, unsigned int order);
uint64_t nr_free_pages(struct dma_heap *heap);

#ifdef __cplusplus
}
#endif

#endif /* DMAHEAP_KAPI_H */
