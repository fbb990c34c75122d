// The core's devices and mappings as the public API shows them (include/dmaheap/device.h), for
// the embedded API and the daemon's replies alike.
#ifndef DMAHEAP_SRC_SYSTEM_DEVICE_VIEWS_H
#define DMAHEAP_SRC_SYSTEM_DEVICE_VIEWS_H

#include <vector>

#include "dma/dma_device.h"
#include "dmaheap/device.h"

namespace dmaheap {

DmaStatsInfo Info(const DmaCounters& counters);
std::vector<DmaSegment> ToSegments(const SgTable& table);
DmaDeviceInfo DeviceInfoOf(const DmaDevice& device);

}  // namespace dmaheap

#endif  // DMAHEAP_SRC_SYSTEM_DEVICE_VIEWS_H
