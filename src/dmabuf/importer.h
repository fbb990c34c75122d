// What an importing driver does with a dma-buf fd it is handed (drm_gem_prime_import_dev and a
// driver's import_sg_table; V4L2's vb2_dc_map_dmabuf does the same): attach its device, map the
// attachment, and check the device can use what it got. A driver built on the DRM GEM DMA helpers
// (DmaDeviceSpec::needs_contiguous) takes only a buffer whose DMA addresses form one contiguous
// range: behind an IOMMU every buffer does; without one only physically contiguous buffers.
// Releasing the import is DmaBufDetach (unmap, then detach), as drm_prime_gem_destroy does.
#ifndef DMAHEAP_SRC_DMABUF_IMPORTER_H
#define DMAHEAP_SRC_DMABUF_IMPORTER_H

#include "dma/dma_device.h"
#include "dmabuf/dma_buf.h"
#include "dmaheap/result.h"

namespace dmaheap {

// The mapped attachment, or: the exporter's attach/map errors (EIO: unreachable, ENOMEM: no
// IOVA space), EINVAL for a contiguous-only device and a buffer its mapping scatters — with
// nothing left attached.
Result<DmaBufAttachment*> DmaBufImport(DmaBuf& buf, DmaDevice& dev, DmaDirection dir);

}  // namespace dmaheap

#endif  // DMAHEAP_SRC_DMABUF_IMPORTER_H
