// Fuzz target: a CMA trace capture (`dmaheap replay TRACE`: ftrace text from a device, in either
// of the kernel's formats). Any bytes either parse to events or are refused naming a line; what
// parses replays against a small area (and is sized) without crashing, and every event the
// recorder writes reads back as itself.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "mm/cma_replay.h"
#include "mm/cma_trace.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace dmaheap;
  std::string error;
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  Result<std::vector<CmaTraceEvent>> events = ParseCmaTrace(text, &error);
  if (!events.ok()) {
    if (error.rfind("line ", 0) != 0) __builtin_trap();  // every refusal names its line
    return 0;
  }
  const CmaGeometry area{"fuzz", 0x1000, 64, 0};
  Result<CmaReplayResult> r = ReplayCmaTrace(*events, area);
  if (!r.ok() || r->peak_placed_pages > area.count) __builtin_trap();
  (void)SmallestFittingPages(*events, area, 16, 1024);
  for (const CmaTraceEvent& ev : *events) {
    // Names a CMA area can have (a device-tree node's: C strings without blanks or controls),
    // and tasks a comm can be (the recorder writes "<...>" for an empty one; no NUL, no line end).
    bool writable = !ev.area.empty() && !ev.task.empty();
    for (unsigned char c : ev.area) writable &= c > ' ';
    for (unsigned char c : ev.task) writable &= c >= ' ';
    if (!writable) continue;
    Result<std::vector<CmaTraceEvent>> back = ParseCmaTrace(FormatCmaTraceEvent(ev), nullptr);
    if (!back.ok() || back->size() != 1) __builtin_trap();
    const CmaTraceEvent& b = (*back)[0];
    if (b.kind != ev.kind || b.area != ev.area || b.count != ev.count ||
        (ev.kind != CmaTraceEvent::Kind::kRelease && b.align != ev.align) || b.ok != ev.ok ||
        ((ev.kind == CmaTraceEvent::Kind::kRelease || ev.ok) && b.pfn != ev.pfn))
      __builtin_trap();
  }
  return 0;
}
