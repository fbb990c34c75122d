/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * DMA-BUF user-space interface, binary-compatible with Linux's include/uapi/linux/dma-buf.h.
 * Written from the documented facts (shared/reference/kernel-facts.md §1.2).
 */
#ifndef DMAHEAP_UAPI_LINUX_DMA_BUF_H
#define DMAHEAP_UAPI_LINUX_DMA_BUF_H

#include <linux/ioctl.h>
#include <linux/types.h>

/* Begin or end a CPU access window; flags = direction (READ/WRITE/RW) | START or END. */
struct dma_buf_sync {
  __u64 flags;
};

#define DMA_BUF_SYNC_READ (1 << 0)
#define DMA_BUF_SYNC_WRITE (2 << 0)
#define DMA_BUF_SYNC_RW (DMA_BUF_SYNC_READ | DMA_BUF_SYNC_WRITE)
#define DMA_BUF_SYNC_START (0 << 2)
#define DMA_BUF_SYNC_END (1 << 2)
#define DMA_BUF_SYNC_VALID_FLAGS_MASK (DMA_BUF_SYNC_RW | DMA_BUF_SYNC_END)

/* A buffer name holds at most DMA_BUF_NAME_LEN - 1 characters plus the NUL. */
#define DMA_BUF_NAME_LEN 32

/* Fences as sync_file fds (Linux 6.0+, CONFIG_SYNC_FILE). */
struct dma_buf_export_sync_file {
  __u32 flags; /* DMA_BUF_SYNC_READ and/or DMA_BUF_SYNC_WRITE */
  __s32 fd;    /* out: the sync_file fd */
};

struct dma_buf_import_sync_file {
  __u32 flags; /* DMA_BUF_SYNC_READ and/or DMA_BUF_SYNC_WRITE */
  __s32 fd;    /* in: a sync_file fd */
};

#define DMA_BUF_BASE 'b'
/* 0x40086200 */
#define DMA_BUF_IOCTL_SYNC _IOW(DMA_BUF_BASE, 0, struct dma_buf_sync)
/* The argument is a pointer to a NUL-terminated string. The 32/64-bitness of the original
 * SET_NAME was botched in Android, so the kernel accepts both sizes: _A (0x40046201) and
 * _B (0x40086201). */
#define DMA_BUF_SET_NAME _IOW(DMA_BUF_BASE, 1, const char *)
#define DMA_BUF_SET_NAME_A _IOW(DMA_BUF_BASE, 1, __u32)
#define DMA_BUF_SET_NAME_B _IOW(DMA_BUF_BASE, 1, __u64)
/* 0xC0086202 / 0x40086203 */
#define DMA_BUF_IOCTL_EXPORT_SYNC_FILE _IOWR(DMA_BUF_BASE, 2, struct dma_buf_export_sync_file)
#define DMA_BUF_IOCTL_IMPORT_SYNC_FILE _IOW(DMA_BUF_BASE, 3, struct dma_buf_import_sync_file)

#endif /* DMAHEAP_UAPI_LINUX_DMA_BUF_H */
