// Replaying a CMA trace (mm/cma_trace.h) against an area: each recorded allocation placed by the
// kernel's own first fit (CmaArea, the code the CMA heaps use), each release freeing what the
// replay gave the allocation of that recorded pfn. What `dmaheap replay` reports: peaks, the
// fragmentation low point (maxchunk), the allocations that fail, and the smallest area that
// replays the whole trace.
//
// Rules: an allocation that failed on the recorded device (errorno ≠ 0) made no buffer and is
// not replayed (it is counted); a release whose recorded pfn no replayed allocation holds (the
// allocation was before the capture, or failed in the replay) is skipped and counted.
#ifndef DMAHEAP_SRC_MM_CMA_REPLAY_H
#define DMAHEAP_SRC_MM_CMA_REPLAY_H

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "mm/cma_trace.h"

namespace dmaheap {

// Where the replayed area sits: as the board placed it, or another size at the same base.
struct CmaGeometry {
  std::string name;
  uint64_t base_pfn = 0;
  uint64_t count = 0;  // pages
  unsigned order_per_bit = 0;
};

// One placed allocation, live at some moment.
struct CmaPlacement {
  uint64_t pfn = 0;  // in the replay
  uint64_t count = 0;
  std::string task;
  pid_t pid = 0;
  size_t line = 0;  // of its allocation
};

struct CmaReplayFailure {
  size_t line = 0;
  uint64_t count = 0;
  unsigned align = 0;
  uint64_t maxchunk_pages = 0;  // the largest free run when it failed
  uint64_t used_pages = 0;
  std::string task;
  pid_t pid = 0;
};

// The area at one moment: what is placed where.
struct CmaSnapshot {
  size_t line = 0;
  uint64_t used_pages = 0;
  uint64_t maxchunk_pages = 0;
  std::vector<CmaPlacement> live;  // by pfn
};

struct CmaSample {
  size_t line = 0;
  double timestamp = 0;
  uint64_t used_pages = 0;
  uint64_t maxchunk_pages = 0;
};

struct CmaReplayResult {
  CmaGeometry area;
  uint64_t peak_requested_pages = 0;  // live in the trace itself (its own successes)
  size_t peak_requested_line = 0;
  uint64_t peak_placed_pages = 0;  // live in the replay
  size_t peak_placed_line = 0;
  uint64_t min_maxchunk_pages = 0;
  size_t min_maxchunk_line = 0;
  std::vector<CmaReplayFailure> failures;
  size_t allocations = 0;                       // replayed
  size_t releases = 0;                          // replayed
  size_t failed_on_device = 0;                  // recorded failures, not replayed
  size_t releases_skipped = 0;                  // no replayed allocation at that pfn
  std::optional<CmaSnapshot> at_peak;           // when the most was placed
  std::optional<CmaSnapshot> at_first_failure;  // just before the first failure
  std::vector<CmaSample> timeline;              // after every replayed event
};

// Replays `events` (already those of one area) against `area`. EINVAL for a geometry CmaArea
// refuses.
Result<CmaReplayResult> ReplayCmaTrace(const std::vector<CmaTraceEvent>& events,
                                       const CmaGeometry& area);

// The smallest count of pages, a multiple of `granule_pages`, at `area`'s base and order, that
// replays `events` without one failure; 0 when none up to `max_pages` does. (A larger area at
// the same base never fails where a smaller one succeeded: first fit places every allocation the
// same until the smaller area fails, so a binary search is exact.)
uint64_t SmallestFittingPages(const std::vector<CmaTraceEvent>& events, const CmaGeometry& area,
                              uint64_t granule_pages, uint64_t max_pages);

}  // namespace dmaheap

#endif  // DMAHEAP_SRC_MM_CMA_REPLAY_H
