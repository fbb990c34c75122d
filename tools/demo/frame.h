// What both demos pass around: one 1080p RGBA frame with a known pattern, filled by a producer
// and checked byte by byte by a consumer, each inside a CPU-access window.
#ifndef DMAHEAP_TOOLS_DEMO_FRAME_H
#define DMAHEAP_TOOLS_DEMO_FRAME_H

#include <cstddef>
#include <cstdint>

#include "dmaheap/dmaheap.h"

namespace demo {

inline constexpr uint64_t kFrameBytes = 1920 * 1080 * 4;  // 8100 KiB

inline uint8_t Pattern(size_t i) { return static_cast<uint8_t>((i * 31u) ^ (i >> 12)); }

// Maps the frame behind `fd` and writes the pattern (SYNC_START/END around it).
inline dmaheap::Result<void> FillFrame(int fd) {
  dmaheap::Mapping map = DMAHEAP_TRY(dmaheap::Mapping::Map(fd, kFrameBytes));
  dmaheap::CpuAccess cpu = DMAHEAP_TRY(dmaheap::CpuAccess::Begin(fd, dmaheap::SyncType::kWrite));
  for (size_t i = 0; i < kFrameBytes; ++i) map.bytes()[i] = Pattern(i);
  return {};
}

// Maps the frame read-only and counts the bytes that differ from the pattern; the mapping is
// handed to *keep when given (so the caller can go on holding the frame by it alone).
inline dmaheap::Result<size_t> CheckFrame(int fd, dmaheap::Mapping* keep = nullptr) {
  dmaheap::Mapping map = DMAHEAP_TRY(dmaheap::Mapping::Map(fd, kFrameBytes, PROT_READ));
  size_t bad = 0;
  {
    dmaheap::CpuAccess cpu = DMAHEAP_TRY(dmaheap::CpuAccess::Begin(fd, dmaheap::SyncType::kRead));
    for (size_t i = 0; i < kFrameBytes; ++i) bad += map.bytes()[i] != Pattern(i);
  }
  if (keep != nullptr) *keep = std::move(map);
  return bad;
}

}  // namespace demo

#endif  // DMAHEAP_TOOLS_DEMO_FRAME_H
