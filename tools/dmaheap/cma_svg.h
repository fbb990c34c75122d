// SVG pictures of CMA areas (`dmaheap cma --svg`, `dmaheap replay --svg`): each area a bar from
// its first page to its last, used ranges coloured by owner (process or trace task, with a
// legend), free holes pale; for a failed allocation, the request drawn beside the largest hole at
// the same scale; for a replay, used and maxchunk over the trace.
#ifndef DMAHEAP_TOOLS_DMAHEAP_CMA_SVG_H
#define DMAHEAP_TOOLS_DMAHEAP_CMA_SVG_H

#include <string>
#include <vector>

#include "mm/cma_replay.h"

namespace dmaheap {

// One area at one moment.
struct CmaPicture {
  std::string title;  // e.g. "linux,cma at the peak (line 812)"
  CmaGeometry area;
  std::vector<CmaPlacement> live;  // owners: task-pid
  uint64_t maxchunk_pages = 0;
  const CmaReplayFailure* failure = nullptr;  // drawn beside the largest hole when set
};

// A whole document: a heading, the pictures, and (when `timeline` is non-empty) the chart.
std::string CmaSvg(const std::string& heading, const std::vector<CmaPicture>& pictures,
                   const std::vector<CmaSample>& timeline = {},
                   const std::vector<CmaReplayFailure>& failures = {});

// The pictures of `dmaheap cma`'s view with owners (system/cma_view.h's text): one per area,
// each live buffer's range owned by `COMM-PID`.
std::vector<CmaPicture> CmaPicturesFromView(const std::string& view);

}  // namespace dmaheap

#endif  // DMAHEAP_TOOLS_DMAHEAP_CMA_SVG_H
