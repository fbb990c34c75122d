// What the board reader and the placement share: refusals and text, printf-style.
#ifndef DMAHEAP_SRC_BOARD_BOARD_TEXT_H
#define DMAHEAP_SRC_BOARD_BOARD_TEXT_H

#include <string>

#include "dmaheap/result.h"

namespace dmaheap {

// Prints "dmaheap: board SOURCE: <message>" on stderr and returns `err`.
__attribute__((format(printf, 3, 4))) Error Refuse(int err, const std::string& source,
                                                   const char* fmt, ...);
// The formatted text (at most 511 bytes).
__attribute__((format(printf, 1, 2))) std::string Format(const char* fmt, ...);

struct BoardDevice;
// One line of a device's DMA constraints: "iommu=apps_smmu iova=32-bit coherent …".
std::string DeviceConstraints(const BoardDevice& device);

}  // namespace dmaheap

#endif  // DMAHEAP_SRC_BOARD_BOARD_TEXT_H
