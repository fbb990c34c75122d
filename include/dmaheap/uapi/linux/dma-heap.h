/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * DMA-BUF heaps user-space interface, binary-compatible with Linux's
 * include/uapi/linux/dma-heap.h (unchanged in layout and numbers since v5.6).
 * Written from the documented facts (shared/reference/kernel-facts.md §1.1).
 * C and C++ alike; the static_asserts in uapi_check.h pin every number.
 */
#ifndef DMAHEAP_UAPI_LINUX_DMA_HEAP_H
#define DMAHEAP_UAPI_LINUX_DMA_HEAP_H

#include <fcntl.h>
#include <linux/ioctl.h>
#include <linux/types.h>

/* Flags accepted in dma_heap_allocation_data.fd_flags: 0x80003 on x86, arm, arm64. */
#define DMA_HEAP_VALID_FD_FLAGS (O_CLOEXEC | O_ACCMODE)

/* No heap flags are defined: any bit set in heap_flags is rejected with EINVAL. */
#define DMA_HEAP_VALID_HEAP_FLAGS (0ULL)

/**
 * struct dma_heap_allocation_data - metadata passed from userspace for allocations
 * @len:        size of the allocation; rounded up to a whole page by the heap core
 * @fd:         returned dma-buf fd; must be 0 on input
 * @fd_flags:   file descriptor flags used when allocating (O_CLOEXEC | O_ACCMODE)
 * @heap_flags: flags passed to the heap; none are defined
 */
struct dma_heap_allocation_data {
  __u64 len;
  __u32 fd;
  __u32 fd_flags;
  __u64 heap_flags;
};

#define DMA_HEAP_IOC_MAGIC 'H'

/* 0xC0184800: allocate a buffer from a heap. */
#define DMA_HEAP_IOCTL_ALLOC _IOWR(DMA_HEAP_IOC_MAGIC, 0x0, struct dma_heap_allocation_data)

#endif /* DMAHEAP_UAPI_LINUX_DMA_HEAP_H */
