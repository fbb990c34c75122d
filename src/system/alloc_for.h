// Constraint-based allocation (what Fuchsia's sysmem does and Linux leaves to each user): given
// the devices a buffer is for, pick a heap whose buffers every one of them can map, allocate,
// and say why; or name the device and the constraint no heap meets.
//
// The constraints come from the devices (DmaDeviceSpec) and the heaps (HeapProperties): a device
// without an IOMMU that imports through the GEM DMA helpers needs a contiguous heap; CPU access
// needs a cached heap; a buffer must fit a heap's max_size and each IOMMU device's IOVA space.
// Reach is not guessed: each candidate's buffer is imported by every device exactly as an
// importer would (attach + map, the kernel's rules), and a heap whose buffers only reach a
// device through swiotlb bounces is taken only when no heap reaches it directly.
// Heaps are tried in order: non-contiguous before contiguous (contiguous memory is scarce), then
// by name; uncached heaps only for buffers without CPU access, after the cached ones.
#ifndef DMAHEAP_SRC_SYSTEM_ALLOC_FOR_H
#define DMAHEAP_SRC_SYSTEM_ALLOC_FOR_H

#include <cstdint>
#include <string>
#include <vector>

#include "dmaheap/result.h"
#include "heap/alloc.h"

namespace dmaheap {

class SystemCore;

struct AllocForRequest {
  std::vector<std::string> devices;  // at least one
  uint64_t len = 0;
  bool cpu_access = true;  // the CPU maps and reads or writes it too
  uint32_t fd_flags = O_RDWR | O_CLOEXEC;
  Owner owner;
  AllocAdmission* admission = nullptr;  // the daemon's limits, asked for each candidate heap
};

struct AllocForResult {
  Allocation allocation;
  std::string heap;
  std::string why;  // lines: the choice, then one per device
};

// The allocation, or: ENODEV (a device the System does not have), EINVAL (no heap meets the
// constraints; also a request without devices or a bad length), ENOMEM (every heap that could
// serve is out of memory). `refusal` receives what names the device and the constraint.
Result<AllocForResult> AllocateFor(SystemCore& core, const AllocForRequest& request,
                                   std::string* refusal);

}  // namespace dmaheap

#endif  // DMAHEAP_SRC_SYSTEM_ALLOC_FOR_H
