// The text of /sys/kernel/debug/dma_buf/bufinfo (drivers/dma-buf/dma-buf.c dma_buf_debug_show),
// and the holder counts that fill its `count` column.
#ifndef DMAHEAP_SRC_DMABUF_BUFINFO_H
#define DMAHEAP_SRC_DMABUF_BUFINFO_H

#include <sys/types.h>

#include <map>
#include <string>
#include <vector>

#include "dmabuf/dma_buf.h"

namespace dmaheap {

// References to each of `inodes` (on device `dev`) held in any process: open fds plus mappings,
// read from /proc/*/fd and /proc/*/maps — the user-space view of the kernel's file_count.
// Processes that vanish during the scan, or that we may not inspect, are skipped.
std::map<ino_t, long> CountHolders(dev_t dev, const std::vector<ino_t>& inodes);

// The bufinfo text for `buffers` (in that order), with `holders` from CountHolders.
std::string FormatBufInfo(const std::vector<DmaBufRef>& buffers,
                          const std::map<ino_t, long>& holders);

}  // namespace dmaheap

#endif  // DMAHEAP_SRC_DMABUF_BUFINFO_H
