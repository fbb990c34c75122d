/*
 * libdmabufheap's definitions (system/memory/libdmabufheap, current ION-less version), for the
 * dmaheap drop-in. C and C++.
 */
#pragma once

#include <linux/dma-buf.h>

static const char kDmabufSystemHeapName[] __attribute__((unused)) = "system";
static const char kDmabufSystemUncachedHeapName[] __attribute__((unused)) = "system-uncached";

typedef enum {
  kSyncRead = DMA_BUF_SYNC_READ,
  kSyncWrite = DMA_BUF_SYNC_WRITE,
  kSyncReadWrite = DMA_BUF_SYNC_RW,
} SyncType;
