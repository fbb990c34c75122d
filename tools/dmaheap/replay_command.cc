// dmaheap replay TRACE --board B [--area NAME] [--size SIZE] [--json] [--svg FILE]: will these
// CMA allocations fit this board's area, and how big must it be (docs/cma-sizing.md).

#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <set>
#include <sstream>

#include "base/json.h"
#include "board/board.h"
#include "client/views.h"
#include "cma_svg.h"
#include "commands.h"
#include "mm/cma_replay.h"
#include "mm/reserved_mem.h"

namespace dmaheap {
namespace {

constexpr uint64_t kPage = 4096;

std::string Bytes(uint64_t bytes) {
  char buf[48];
  if (bytes % (uint64_t{1} << 20) == 0) {
    std::snprintf(buf, sizeof(buf), "%" PRIu64 " MiB", bytes >> 20);
  } else {
    std::snprintf(buf, sizeof(buf), "%.1f MiB", static_cast<double>(bytes) / (1 << 20));
  }
  return buf;
}

// The value cma= takes for `bytes` (memparse's largest exact suffix).
std::string CmaValue(uint64_t bytes) {
  if (bytes % (uint64_t{1} << 30) == 0) return std::to_string(bytes >> 30) + "G";
  if (bytes % (uint64_t{1} << 20) == 0) return std::to_string(bytes >> 20) + "M";
  return std::to_string(bytes >> 10) + "K";
}

// A device tree `size` of two cells (#size-cells = <2>, as the shipped boards use).
std::string DtSize(uint64_t bytes) {
  char buf[64];
  std::snprintf(buf, sizeof(buf), "<0x%" PRIx64 " 0x%" PRIx64 ">", bytes >> 32,
                bytes & 0xffffffffu);
  return buf;
}

bool ReadAll(const std::string& path, std::string* text) {
  if (path == "-") {
    std::ostringstream s;
    s << std::cin.rdbuf();
    *text = s.str();
    return true;
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream s;
  s << in.rdbuf();
  *text = s.str();
  return true;
}

int Usage(const std::string& what) {
  std::fprintf(stderr, "dmaheap replay: %s\n", what.c_str());
  return 2;
}

}  // namespace

int ReplayCommand(const ReplayOptions& o) {
  std::string text, error;
  if (!ReadAll(o.trace, &text)) {
    std::fprintf(stderr, "dmaheap replay: %s: %s\n", o.trace.c_str(), std::strerror(errno));
    return 1;
  }
  Result<std::vector<CmaTraceEvent>> parsed = ParseCmaTrace(text, &error);
  if (!parsed.ok()) {
    std::fprintf(stderr, "dmaheap replay: %s: %s\n", o.trace.c_str(), error.c_str());
    return 1;
  }
  Result<Board> board = LoadBoard(o.board);  // explains itself on stderr
  if (!board.ok()) return 1;
  std::vector<std::string> boot_log;  // the kernel's lines; not shown here
  Result<std::vector<ReservedRegion>> placed = PlaceReservedMemory(*board, &boot_log);
  if (!placed.ok()) return 1;
  std::vector<const ReservedRegion*> areas;
  std::string area_names;
  for (const ReservedRegion& r : *placed) {
    if (!r.IsCma()) continue;
    areas.push_back(&r);
    area_names += (area_names.empty() ? "" : ", ") + r.name;
  }
  if (areas.empty()) {
    std::fprintf(stderr, "dmaheap replay: board %s has no CMA area\n", o.board.c_str());
    return 1;
  }
  // Which of the trace's areas, and which of the board's.
  std::set<std::string> traced;
  for (const CmaTraceEvent& e : *parsed) {
    if (!e.area.empty()) traced.insert(e.area);
  }
  std::string want = o.area;
  if (want.empty()) {
    if (traced.size() == 1) {
      want = *traced.begin();
    } else if (traced.empty() && areas.size() == 1) {
      want = areas[0]->name;
    } else {
      return Usage(traced.empty() ? "the trace names no area and board " + o.board +
                                        " has several (" + area_names + "): pick one with --area"
                                  : "the trace has events of several areas: pick one with --area");
    }
  }
  const ReservedRegion* region = nullptr;
  for (const ReservedRegion* r : areas) {
    if (r->name == want) region = r;
  }
  if (region == nullptr) {
    return Usage("board " + o.board + " has no CMA area '" + want +
                 "' (its CMA areas: " + area_names + "); name one with --area");
  }
  // The trace's events for it: all of them when the trace names one area (or none).
  std::vector<CmaTraceEvent> events;
  for (CmaTraceEvent& e : *parsed) {
    if (traced.size() <= 1 || e.area == want) events.push_back(std::move(e));
  }
  uint64_t size = region->size;
  if (!o.size.empty()) {
    if (!ParseSize(o.size, &size) || size == 0 || size % kCmaMinAlignment != 0) {
      return Usage("--size " + o.size +
                   ": a size in whole 2 MiB pageblocks (CMA_MIN_ALIGNMENT_BYTES), e.g. 96M");
    }
  }
  const CmaGeometry geometry{region->name, region->base / kPage, size / kPage, 0};
  Result<CmaReplayResult> result = ReplayCmaTrace(events, geometry);
  if (!result.ok())
    return Usage("the area cannot be made: " + std::string(strerror(result.error())));
  const CmaReplayResult& r = *result;
  const uint64_t granule = kCmaMinAlignment / kPage;
  const uint64_t smallest =
      SmallestFittingPages(events, geometry, granule, board->ram_bytes / kPage) * kPage;
  const bool fits = r.failures.empty();

  if (!o.svg.empty()) {
    std::vector<CmaPicture> pictures;
    if (r.at_peak) {
      pictures.push_back(
          {region->name + " at the peak (line " + std::to_string(r.at_peak->line) + ")", geometry,
           r.at_peak->live, r.at_peak->maxchunk_pages, nullptr});
    }
    if (r.at_first_failure) {
      pictures.push_back(
          {region->name + " at the first failure (line " + std::to_string(r.failures[0].line) + ")",
           geometry, r.at_first_failure->live, r.at_first_failure->maxchunk_pages, &r.failures[0]});
    }
    if (pictures.empty()) {
      pictures.push_back(
          {region->name + " (nothing placed)", geometry, {}, geometry.count, nullptr});
    }
    std::ofstream out(o.svg);
    out << CmaSvg("replay of " + o.trace + " on " + o.board + ": " + Bytes(size) + " " +
                      (fits ? "fits" : "fails"),
                  pictures, r.timeline, r.failures);
    if (!out) {
      std::fprintf(stderr, "dmaheap replay: --svg %s: %s\n", o.svg.c_str(), std::strerror(errno));
      return 1;
    }
  }

  if (o.json) {
    std::string failures;
    for (const CmaReplayFailure& f : r.failures) {
      char buf[160];
      std::snprintf(buf, sizeof(buf),
                    "%s{\"line\": %zu, \"count\": %" PRIu64
                    ", \"align\": %u, "
                    "\"maxchunk_pages\": %" PRIu64 ", \"used_pages\": %" PRIu64 "}",
                    failures.empty() ? "" : ", ", f.line, f.count, f.align, f.maxchunk_pages,
                    f.used_pages);
      failures += buf;
    }
    // The failures can be many: the list is spliced in, not formatted into a fixed buffer.
    char head[640], tail[512];
    std::snprintf(head, sizeof(head),
                  "{\"version\": 1, \"board\": %s, \"area\": %s, \"base\": %" PRIu64
                  ", \"size_bytes\": %" PRIu64
                  ", \"events\": %zu, \"peak_requested_bytes\": %" PRIu64
                  ", \"peak_placed_bytes\": %" PRIu64 ", \"min_maxchunk_pages\": %" PRIu64
                  ", \"min_maxchunk_line\": %zu, \"failures\": [",
                  JsonString(o.board).c_str(), JsonString(region->name).c_str(), region->base, size,
                  events.size(), r.peak_requested_pages * kPage, r.peak_placed_pages * kPage,
                  r.min_maxchunk_pages, r.min_maxchunk_line);
    std::snprintf(tail, sizeof(tail),
                  "], \"failed_on_device\": %zu, \"releases_skipped\": %zu, \"fits\": %s, "
                  "\"smallest_fitting_bytes\": %" PRIu64 ", \"granule_bytes\": %" PRIu64
                  ", \"cma\": %s, \"dt_size\": %s}\n",
                  r.failed_on_device, r.releases_skipped, fits ? "true" : "false", smallest,
                  kCmaMinAlignment, JsonString(smallest ? "cma=" + CmaValue(smallest) : "").c_str(),
                  JsonString(smallest ? DtSize(smallest) : "").c_str());
    const std::string json = head + failures + tail;
    std::fputs(json.c_str(), stdout);
    return fits ? 0 : 3;
  }

  std::printf("trace %s: %zu cma events of area %s", o.trace.c_str(), events.size(), want.c_str());
  if (r.failed_on_device != 0) {
    std::printf(" (%zu allocations failed on the recorded device, not replayed)",
                r.failed_on_device);
  }
  std::printf("\narea %s of board %s: base 0x%" PRIx64 ", %s%s\n", region->name.c_str(),
              o.board.c_str(), region->base, Bytes(size).c_str(),
              o.size.empty() ? "" : " (--size)");
  std::printf("peak requested: %s at line %zu\n", Bytes(r.peak_requested_pages * kPage).c_str(),
              r.peak_requested_line);
  std::printf("peak placed:    %s at line %zu\n", Bytes(r.peak_placed_pages * kPage).c_str(),
              r.peak_placed_line);
  std::printf("smallest largest-free-chunk: %" PRIu64 " pages (%s) at line %zu\n",
              r.min_maxchunk_pages, Bytes(r.min_maxchunk_pages * kPage).c_str(),
              r.min_maxchunk_line);
  if (r.releases_skipped != 0) {
    std::printf("releases skipped: %zu (allocated before the capture, or failed here)\n",
                r.releases_skipped);
  }
  if (fits) {
    std::printf(
        "fits: every allocation placed; %s free at the peak, and %s to spare over the "
        "smallest area that fits\n",
        Bytes(size - r.peak_placed_pages * kPage).c_str(), Bytes(size - smallest).c_str());
  } else {
    std::printf("FAILS: %zu allocation(s)\n", r.failures.size());
    for (const CmaReplayFailure& f : r.failures) {
      std::printf("  line %zu: %" PRIu64
                  " pages (%s) align %u by %s-%d: largest free chunk %" PRIu64
                  " pages (%s), %s in use\n",
                  f.line, f.count, Bytes(f.count * kPage).c_str(), f.align, f.task.c_str(),
                  static_cast<int>(f.pid), f.maxchunk_pages,
                  Bytes(f.maxchunk_pages * kPage).c_str(), Bytes(f.used_pages * kPage).c_str());
    }
  }
  if (smallest == 0) {
    std::printf("no area up to the board's RAM replays it without a failure\n");
  } else {
    std::printf(
        "smallest area that fits: %s (granule %s: CMA_MIN_ALIGNMENT_BYTES, one "
        "pageblock), same base\n",
        Bytes(smallest).c_str(), Bytes(kCmaMinAlignment).c_str());
    std::printf("  kernel command line: cma=%s\n  device tree: size = %s;\n",
                CmaValue(smallest).c_str(), DtSize(smallest).c_str());
  }
  return fits ? 0 : 3;
}

}  // namespace dmaheap
