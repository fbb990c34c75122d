/*
 * dmaheap's C ABI. Every function returns 0 or -errno (never -1 with errno) and never throws.
 * A NULL system handle gives -EINVAL. Out-pointers must be non-NULL.
 */
#ifndef DMAHEAP_C_DMAHEAP_H
#define DMAHEAP_C_DMAHEAP_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
#define DMAHEAP_NOEXCEPT noexcept
extern "C" {
#else
#define DMAHEAP_NOEXCEPT
#endif

/* Exported from libdmaheap.so whatever the core is compiled with. */
#pragma GCC visibility push(default)

typedef struct dmaheap_system dmaheap_system;

/* The version of the dmaheap this program runs against ("MAJOR.MINOR.PATCH"), and the same as
 * one number, MAJOR * 10000 + MINOR * 100 + PATCH: compare with <dmaheap/version.h>'s
 * DMAHEAP_VERSION_STRING / DMAHEAP_VERSION, the one it was compiled against. */
const char *dmaheap_version(void) DMAHEAP_NOEXCEPT;
int dmaheap_version_number(void) DMAHEAP_NOEXCEPT;

/* Boots a System with `ram_bytes` of modelled RAM (page-aligned) and its heaps. */
int dmaheap_system_boot(uint64_t ram_bytes, dmaheap_system **out) DMAHEAP_NOEXCEPT;
/* Boots a System from a board: a name ($DMAHEAP_BOARD_PATH, then dmaheap/boards beside
 * libdmaheap.so) or a .dtb path. -ENOENT for an unknown board, the board's errors otherwise. */
int dmaheap_system_boot_board(const char *board, dmaheap_system **out) DMAHEAP_NOEXCEPT;
/* Shuts it down; buffers still held elsewhere keep their memory but are no longer accounted. */
void dmaheap_system_destroy(dmaheap_system *sys) DMAHEAP_NOEXCEPT;

/* The number of heaps, and the name of heap `index` copied NUL-terminated into `name`
 * (-ERANGE if `len` is too small, -ENOENT past the last heap). */
int dmaheap_heap_count(dmaheap_system *sys, size_t *count) DMAHEAP_NOEXCEPT;
int dmaheap_heap_name(dmaheap_system *sys, size_t index, char *name, size_t len) DMAHEAP_NOEXCEPT;

/* DMA_HEAP_IOCTL_ALLOC on heap `heap`; the new buffer fd in *out_fd. */
int dmaheap_alloc(dmaheap_system *sys, const char *heap, uint64_t len, uint32_t fd_flags,
                  uint64_t heap_flags, int *out_fd) DMAHEAP_NOEXCEPT;

/* Any ioctl on a heap, as on /dev/dma_heap/<heap> (bad pointers give -EFAULT). */
int dmaheap_heap_ioctl(dmaheap_system *sys, const char *heap, unsigned long cmd,
                       void *arg) DMAHEAP_NOEXCEPT;

/* The dma-buf ioctls on a buffer fd (SYNC, SET_NAME_A/B), with the kernel's rules. */
int dmaheap_buffer_ioctl(int fd, unsigned long cmd, void *arg) DMAHEAP_NOEXCEPT;

/* DMA_BUF_IOCTL_SYNC START / END with DMA_BUF_SYNC_READ, _WRITE or _RW in `direction`. */
int dmaheap_cpu_access_begin(int fd, uint64_t direction) DMAHEAP_NOEXCEPT;
int dmaheap_cpu_access_end(int fd, uint64_t direction) DMAHEAP_NOEXCEPT;

/* Processes every release already queued. */
int dmaheap_drain(dmaheap_system *sys) DMAHEAP_NOEXCEPT;

/* Modelled memory after pending releases: total and free 4 KiB page frames. */
int dmaheap_memory(dmaheap_system *sys, uint64_t *total_pages, uint64_t *free_pages) DMAHEAP_NOEXCEPT;

/* The bufinfo text, NUL-terminated, into `buf`; *needed gets its size including the NUL
 * (-ERANGE and nothing copied when `len` is smaller). */
int dmaheap_bufinfo(dmaheap_system *sys, char *buf, size_t len, size_t *needed) DMAHEAP_NOEXCEPT;

/* dmaheap::Client (dmaheap/client.h): the kernel's heaps, else a running dmaheapd, else an
 * embedded System on a board. */
typedef struct dmaheap_client dmaheap_client;
#define DMAHEAP_BACKEND_AUTO (-1) /* $DMAHEAP_BACKEND, else the first that is there */
#define DMAHEAP_BACKEND_KERNEL 0
#define DMAHEAP_BACKEND_DAEMON 1
#define DMAHEAP_BACKEND_EMBEDDED 2
/* `board` (may be NULL) is the embedded backend's board. -EINVAL for an unknown backend. */
int dmaheap_client_open(int backend, const char *board, dmaheap_client **out) DMAHEAP_NOEXCEPT;
void dmaheap_client_close(dmaheap_client *client) DMAHEAP_NOEXCEPT;
/* The DMAHEAP_BACKEND_* in use. */
int dmaheap_client_backend(dmaheap_client *client) DMAHEAP_NOEXCEPT;
/* The heaps, sorted: as dmaheap_heap_count / dmaheap_heap_name. */
int dmaheap_client_heap_count(dmaheap_client *client, size_t *count) DMAHEAP_NOEXCEPT;
int dmaheap_client_heap_name(dmaheap_client *client, size_t index, char *name,
                             size_t len) DMAHEAP_NOEXCEPT;
/* DMA_HEAP_IOCTL_ALLOC: 0 and *out_fd, or the kernel's -errno (-ENOENT: no such heap). */
int dmaheap_client_alloc(dmaheap_client *client, const char *heap, uint64_t len,
                         uint32_t fd_flags, uint64_t heap_flags, int *out_fd) DMAHEAP_NOEXCEPT;
/* DMA_BUF_SET_NAME on a buffer (-EINVAL for 32 bytes or more). */
int dmaheap_client_set_name(dmaheap_client *client, int fd, const char *name) DMAHEAP_NOEXCEPT;

/* Devices (dmaheap/device.h): an importer's attach + map of a buffer for a device, with the
 * kernel's rules. `dir` is enum dma_data_direction (0 bidirectional, 1 to device, 2 from
 * device). 0 and *out, or -EBADF, -EINVAL (not a buffer; a contiguous-only device and a
 * scattered buffer), -ENODEV (no such device), -EIO (out of the device's reach), -ENOMEM (IOVA
 * space), -EOPNOTSUPP (the kernel backend). The attachment lives until
 * dmaheap_attachment_detach, at the latest until the client closes. */
typedef struct dmaheap_attachment dmaheap_attachment;
struct dmaheap_dma_segment {
  uint64_t address; /* the DMA address or IOVA the device uses */
  uint64_t length;
};
int dmaheap_client_attach(dmaheap_client *client, int buffer_fd, const char *device, int dir,
                          dmaheap_attachment **out) DMAHEAP_NOEXCEPT;
/* The number of DMA segments; the first min(count, max) are copied to `segments`. */
size_t dmaheap_attachment_segments(const dmaheap_attachment *attachment,
                                   struct dmaheap_dma_segment *segments,
                                   size_t max) DMAHEAP_NOEXCEPT;
/* Unmaps and detaches (NULL: nothing). */
void dmaheap_attachment_detach(dmaheap_attachment *attachment) DMAHEAP_NOEXCEPT;
/* A buffer every one of `devices` (count names) can map, from the heap that suits them: 0,
 * *out_fd and the heap's name in `heap` (NUL-terminated, truncated to heap_len); or -ENODEV,
 * -EINVAL (no heap fits), -ENOMEM. */
int dmaheap_client_alloc_for(dmaheap_client *client, const char *const *devices, size_t count,
                             uint64_t len, int cpu_access, int *out_fd, char *heap,
                             size_t heap_len) DMAHEAP_NOEXCEPT;

#pragma GCC visibility pop

#ifdef __cplusplus
}
#endif

#endif /* DMAHEAP_C_DMAHEAP_H */
