// CPU access to a buffer another process exported (BufferIoctl's "foreign" buffers): the
// system layer cannot reach a daemon (the protocol lives above it), so the layer that can — the
// client library — installs the handler once at load. Without one, CPU access to a foreign
// buffer is a local no-op, as it is for any buffer no device has mapped.
#ifndef DMAHEAP_SRC_SYSTEM_FOREIGN_BUFFER_H
#define DMAHEAP_SRC_SYSTEM_FOREIGN_BUFFER_H

#include "dma/dma_types.h"
#include "dmaheap/result.h"

namespace dmaheap {

using ForeignCpuAccess = Result<void> (*)(int fd, DmaDirection dir, bool end);

// Installed before any thread calls BufferIoctl (a static initializer).
void SetForeignCpuAccess(ForeignCpuAccess handler);

}  // namespace dmaheap

#endif  // DMAHEAP_SRC_SYSTEM_FOREIGN_BUFFER_H
