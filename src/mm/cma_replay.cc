#include "mm/cma_replay.h"

#include <algorithm>
#include <map>
#include <unordered_map>

#include "base/check.h"
#include "mm/cma.h"

namespace dmaheap {
namespace {

using Kind = CmaTraceEvent::Kind;

CmaSnapshot Snap(size_t line, const CmaArea& area, const std::map<uint64_t, CmaPlacement>& live) {
  CmaSnapshot s;
  s.line = line;
  s.used_pages = area.used();
  s.maxchunk_pages = area.maxchunk();
  s.live.reserve(live.size());
  for (const auto& [pfn, p] : live) s.live.push_back(p);
  return s;
}

// detail: peaks, snapshots and the timeline too; else only whether anything fails (and it
// stops at the first failure).
Result<CmaReplayResult> Replay(const std::vector<CmaTraceEvent>& events, const CmaGeometry& geo,
                               bool detail) {
  std::unique_ptr<CmaArea> area =
      TRY(CmaArea::Create(geo.name, geo.base_pfn, geo.count, geo.order_per_bit));
  CmaReplayResult r;
  r.area = geo;
  r.min_maxchunk_pages = area->maxchunk();
  std::unordered_map<uint64_t, CmaPlacement> replayed;   // recorded pfn → replay's range
  std::unordered_map<uint64_t, uint64_t> recorded_live;  // recorded pfn → count
  std::map<uint64_t, CmaPlacement> live;                 // replay pfn → what is there
  uint64_t requested = 0;
  for (const CmaTraceEvent& ev : events) {
    if (ev.kind == Kind::kAllocStart) continue;
    if (ev.kind == Kind::kAlloc) {
      if (!ev.ok) {
        ++r.failed_on_device;
        continue;
      }
      recorded_live[ev.pfn] = ev.count;
      requested += ev.count;
      if (requested > r.peak_requested_pages) {
        r.peak_requested_pages = requested;
        r.peak_requested_line = ev.line;
      }
      Result<uint64_t> pfn = area->Alloc(ev.count, ev.align);
      if (!pfn.ok()) {
        CmaReplayFailure f{ev.line,      ev.count, ev.align, area->maxchunk(),
                           area->used(), ev.task,  ev.pid};
        if (detail && r.failures.empty()) r.at_first_failure = Snap(ev.line, *area, live);
        r.failures.push_back(std::move(f));
        if (!detail) return r;
      } else {
        ++r.allocations;
        CmaPlacement p{*pfn, ev.count, detail ? ev.task : std::string(), ev.pid, ev.line};
        if (detail) live[*pfn] = p;
        replayed[ev.pfn] = std::move(p);
      }
    } else {  // kRelease
      if (auto it = recorded_live.find(ev.pfn); it != recorded_live.end()) {
        requested -= it->second;
        recorded_live.erase(it);
      }
      auto it = replayed.find(ev.pfn);
      if (it == replayed.end()) {
        ++r.releases_skipped;
        continue;
      }
      area->Release(it->second.pfn, it->second.count);
      live.erase(it->second.pfn);
      replayed.erase(it);
      ++r.releases;
    }
    if (!detail) continue;
    const uint64_t used = area->used(), maxchunk = area->maxchunk();
    r.timeline.push_back(CmaSample{ev.line, ev.timestamp, used, maxchunk});
    if (used > r.peak_placed_pages) {
      r.peak_placed_pages = used;
      r.peak_placed_line = ev.line;
      r.at_peak = Snap(ev.line, *area, live);
    }
    if (maxchunk < r.min_maxchunk_pages) {
      r.min_maxchunk_pages = maxchunk;
      r.min_maxchunk_line = ev.line;
    }
  }
  return r;
}

}  // namespace

Result<CmaReplayResult> ReplayCmaTrace(const std::vector<CmaTraceEvent>& events,
                                       const CmaGeometry& area) {
  return Replay(events, area, /*detail=*/true);
}

uint64_t SmallestFittingPages(const std::vector<CmaTraceEvent>& events, const CmaGeometry& area,
                              uint64_t granule_pages, uint64_t max_pages) {
  if (granule_pages == 0) return 0;
  auto fits = [&](uint64_t granules) {
    CmaGeometry g = area;
    g.count = granules * granule_pages;
    Result<CmaReplayResult> r = Replay(events, g, /*detail=*/false);
    return r.ok() && r->failures.empty();
  };
  const uint64_t most = max_pages / granule_pages;
  if (most == 0) return 0;
  uint64_t hi = 1;
  while (hi < most && !fits(hi)) hi = std::min(most, hi * 2);
  if (!fits(hi)) return 0;
  uint64_t lo = hi / 2;  // lo does not fit (or is 0)
  while (hi - lo > 1) {
    const uint64_t mid = lo + (hi - lo) / 2;
    (fits(mid) ? hi : lo) = mid;
  }
  return hi * granule_pages;
}

}  // namespace dmaheap
