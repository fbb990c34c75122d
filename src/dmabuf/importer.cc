#include "dmabuf/importer.h"

#include "base/check.h"

namespace dmaheap {

Result<DmaBufAttachment*> DmaBufImport(DmaBuf& buf, DmaDevice& dev, DmaDirection dir) {
  DmaBufAttachment* attachment = TRY(DmaBufAttach(buf, dev));
  Result<std::span<const ScatterEntry>> table = DmaBufMapAttachment(buf, *attachment, dir);
  Result<void> usable;
  if (!table.ok()) {
    usable = Errno(table.error());
  } else if (dev.spec().needs_contiguous && DmaContiguousSize(*table) < buf.size()) {
    // drm_gem_dma_prime_import_sg_table: the device would need one DMA range.
    usable = Errno(EINVAL);
  }
  if (!usable.ok()) {
    DmaBufDetach(buf, attachment);
    return Errno(usable.error());
  }
  return attachment;
}

}  // namespace dmaheap
