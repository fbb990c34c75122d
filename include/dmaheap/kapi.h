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

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The core exports these to modules from its dynamic symbol table (libdmaheap.so, or a program
 * that links the core): they keep default visibility whatever the core is compiled with. */
#pragma GCC visibility push(default)

struct dma_heap;
struct dma_buf;
struct dmaheap_module;
struct device; /* an importing device, as the DMA API below knows it */

enum dma_data_direction { DMA_BIDIRECTIONAL = 0, DMA_TO_DEVICE = 1, DMA_FROM_DEVICE = 2 };

/* One sg entry: a modelled DMA address and a length. */
struct dma_buf_sg_entry {
  uint64_t dma_address;
  uint64_t length;
};

/* One device's attachment to a buffer (struct dma_buf_attachment). */
struct dma_buf_attachment {
  const char *dev_name; /* the importing device's name */
  void *priv;           /* the exporter's own: set by attach, read by the other ops */
  struct device *dev;   /* the importing device: what map_dma_buf maps for (dma_map_sgtable) */
};

/*
 * The DMA API (kernel/dma/mapping.c) for exporters' map_dma_buf and CPU access, GPL-only.
 * An sg_table holds the pages (modelled physical addresses, the exporter's) and, once mapped
 * for a device, what that device sees: DMA addresses without an IOMMU (bounced through the
 * swiotlb when out of the device's reach), one IOVA range with one. A table is mapped for one
 * device at a time; `mapping` is the core's.
 */
#define DMA_ATTR_SKIP_CPU_SYNC (1UL << 5)

struct sg_table {
  const struct dma_buf_sg_entry *sgl; /* the pages */
  unsigned int orig_nents;
  const struct dma_buf_sg_entry *dma; /* set by dma_map_sgtable: the device's view */
  unsigned int nents;
  void *mapping;
};

/* 0, -EIO (the device cannot reach the memory and there is no swiotlb, or it is full), -ENOMEM
 * (no IOVA space), -EINVAL (no device, an empty or already mapped table). Unless
 * DMA_ATTR_SKIP_CPU_SYNC, the CPU caches are cleaned for a non-coherent device. */
int dma_map_sgtable(struct device *dev, struct sg_table *sgt, enum dma_data_direction dir,
                    unsigned long attrs);
void dma_unmap_sgtable(struct device *dev, struct sg_table *sgt, enum dma_data_direction dir,
                       unsigned long attrs);
/* Cache maintenance (and swiotlb copies) so the CPU sees what the device wrote / the device
 * sees what the CPU wrote: nothing for a coherent device that bounces nothing. */
void dma_sync_sgtable_for_cpu(struct device *dev, struct sg_table *sgt,
                              enum dma_data_direction dir);
void dma_sync_sgtable_for_device(struct device *dev, struct sg_table *sgt,
                                 enum dma_data_direction dir);

/*
 * struct dma_buf_ops: what the exporter does for one buffer, in the kernel's order; `priv` is
 * the exporter's buffer (dma_buf_export_info.priv). Every op but release is optional. Return
 * values are 0 or -errno.
 *
 * Concurrency: the core calls no op with a lock of its own held. For one buffer, begin/end CPU
 * access, mmap and the attachment ops may run at the same time on different threads (two
 * processes syncing, two importers attaching): an exporter with mutable per-buffer state locks
 * it itself. The ops of one attachment come from its one importer, in order: attach, then any
 * number of map/unmap pairs, then detach (an attachment still mapped at detach is unmapped
 * first). release runs exactly once, after every other op of the buffer has returned, and never
 * for an export that failed.
 */
struct dma_buf_ops {
  /* A device attaches (before any map). Refuse with -EINVAL for a device that cannot reach the
   * buffer, -ENOMEM. NULL: every device may attach. */
  int (*attach)(void *priv, struct dma_buf_attachment *attachment);
  /* Once per successful attach, after its last unmap. */
  void (*detach)(void *priv, struct dma_buf_attachment *attachment);
  /* The device's view of the buffer: *table and *count, valid until unmap_dma_buf. NULL: the
   * buffer's own sg table (sg_table below), as both kernel heaps hand out a copy of theirs. */
  int (*map_dma_buf)(void *priv, struct dma_buf_attachment *attachment,
                     enum dma_data_direction dir, const struct dma_buf_sg_entry **table,
                     size_t *count);
  void (*unmap_dma_buf)(void *priv, struct dma_buf_attachment *attachment,
                        enum dma_data_direction dir);
  /* Required. The last fd and mapping are gone: give the memory back and free priv. */
  void (*release)(void *priv);
  /* CPU access bracketing (DMA_BUF_IOCTL_SYNC START / END), after the core checked the flags. */
  int (*begin_cpu_access)(void *priv, enum dma_data_direction dir);
  int (*end_cpu_access)(void *priv, enum dma_data_direction dir);
  /* May this range be mapped? The core has checked the range; NULL refuses every mapping
   * (-EINVAL), as dma_buf_mmap does. */
  int (*mmap)(void *priv, uint64_t offset, uint64_t length, int prot, int flags);
  /* dmaheap's addition: the modelled sg table of the whole buffer (count entries), valid for the
   * buffer's life. */
  const struct dma_buf_sg_entry *(*sg_table)(void *priv, size_t *count);
};

struct dma_buf_export_info {
  const struct dma_buf_ops *ops;
  uint64_t size;  /* the page-aligned length the heap was asked for */
  uint32_t flags; /* the request's fd_flags */
  void *priv;
};

/* struct dma_heap_ops. allocate: len is page-aligned and non-zero, fd_flags are valid,
 * heap_flags are 0. On success *out is the dma_buf_export result. Called on any thread, for one
 * heap possibly on several at once, with no core lock held. */
struct dma_heap_ops {
  int (*allocate)(struct dma_heap *heap, uint64_t len, uint32_t fd_flags, uint64_t heap_flags,
                  struct dma_buf **out);
};

/* dmaheap's addition: what a heap's buffers are, as data the core reports (no code branches on
 * a heap's name). Zero (the default of a 3-member initializer) is a system-heap-like heap. */
#define DMA_HEAP_CONTIGUOUS 0x1UL /* every buffer is one contiguous range (one sg entry) */
#define DMA_HEAP_UNCACHED 0x2UL   /* CPU mappings are not cached */

struct dma_heap_export_info {
  const char *name;
  const struct dma_heap_ops *ops;
  void *priv;
  unsigned long flags; /* DMA_HEAP_CONTIGUOUS | DMA_HEAP_UNCACHED */
  uint64_t max_size;   /* the largest buffer it can ever give, bytes; 0 = bounded by memory */
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

/* Contiguous memory areas (mm/cma.c), GPL-only as the RFC exported them. The areas are the
 * board's reusable shared-dma-pool regions and the cma= area; pages are modelled page frames
 * (pfns). The module context is the init context (the System whose areas are meant). */
struct cma;

/* The default area (linux,cma-default or cma=), or NULL: devices have no area of their own
 * (dev->cma_area), so every dev, NULL included, gets the default. */
struct cma *dev_get_cma_area(struct dmaheap_module *module, struct device *dev);
/* Calls it(cma, data) for each area in boot order until it returns non-zero; returns that
 * value, or 0. */
int cma_for_each_area(struct dmaheap_module *module, int (*it)(struct cma *cma, void *data),
                      void *data);
/* The area's name: "reserved" for cma=, else the reserved-memory node's name. */
const char *cma_get_name(const struct cma *cma);
/* The area's size in bytes. */
unsigned long cma_get_size(const struct cma *cma);
/* dmaheap's addition, so a heap finds areas without comparing names: */
#define CMA_FLAG_DEFAULT 0x1UL /* the default area */
#define CMA_FLAG_HEAP 0x2UL    /* the board marks it for a heap (`dmaheap,heap`) */
unsigned long cma_get_flags(const struct cma *cma);
/* count pages aligned to 2^align pages, first fit (the kernel's algorithm exactly): 0 and *pfn,
 * or -ENOMEM (with the kernel's "alloc failed" line on stderr unless no_warn), -EINVAL for
 * count 0. */
int cma_alloc(struct cma *cma, unsigned long count, unsigned int align, bool no_warn,
              uint64_t *pfn);
/* false, with nothing changed, when the range is not inside the area. */
bool cma_release(struct cma *cma, uint64_t pfn, unsigned long count);

/* Regions of the board's /reserved-memory as placed at boot (drivers/of/of_reserved_mem.c),
 * GPL-only. The carveout heap takes the no-map ones marked for a heap. */
#define RESERVED_MEM_NO_MAP 0x1UL   /* `no-map` */
#define RESERVED_MEM_REUSABLE 0x2UL /* `reusable` */
#define RESERVED_MEM_HEAP 0x4UL     /* `dmaheap,heap` */
struct reserved_mem {
  const char *name; /* the node's name */
  uint64_t base;    /* modelled physical address */
  uint64_t size;
  unsigned long flags;
};
/* Calls it(rmem, data) per region in boot order until it returns non-zero; returns that value,
 * or 0. rmem is valid during the call; rmem->name for the System's lifetime. */
int reserved_mem_for_each(struct dmaheap_module *module,
                          int (*it)(const struct reserved_mem *rmem, void *data), void *data);

/* General-purpose special-memory allocator (lib/genalloc.c, EXPORT_SYMBOL): first fit over a
 * bitmap with one bit per 2^min_alloc_order bytes. Thread-safe. nid is ignored. */
struct gen_pool;
struct gen_pool *gen_pool_create(int min_alloc_order, int nid); /* NULL on failure */
/* Adds [addr, addr + size): 0, -EINVAL (misaligned or empty) or -ENOMEM. */
int gen_pool_add(struct gen_pool *pool, unsigned long addr, size_t size, int nid);
unsigned long gen_pool_alloc(struct gen_pool *pool, size_t size); /* 0 on failure */
void gen_pool_free(struct gen_pool *pool, unsigned long addr, size_t size);
size_t gen_pool_avail(struct gen_pool *pool);
size_t gen_pool_size(struct gen_pool *pool);
/* Every allocation must have been freed. */
void gen_pool_destroy(struct gen_pool *pool);

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif

#endif /* DMAHEAP_KAPI_H */
