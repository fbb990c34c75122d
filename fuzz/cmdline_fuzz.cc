// Fuzz target: the command-line and environment parsers. The first byte picks one, the rest is
// its text: a board's kernel command line (cma=, swiotlb=), a cma= value alone, dmaheapd's
// --heap-mode, --heap-limit and --uid-limit, $DMAHEAP_FAULT and the sync sanitizer's
// $DMAHEAP_SANITIZE. Any
// text is a value or a refusal (whose reason goes to stderr: run libFuzzer with
// -close_fd_mask=2 to keep it quiet).
#include <cstddef>
#include <cstdint>
#include <string>

#include "board/board.h"
#include "mm/contiguous.h"
#include "platform/fault.h"
#include "preload/sanitizer_rules.h"
#include "service/heap_dir.h"
#include "service/limits.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace dmaheap;
  if (size == 0) return 0;
  const std::string text(reinterpret_cast<const char*>(data) + 1, size - 1);
  switch (data[0] % 7) {
    case 0: {
      // A cma= range that ends before it starts parses, as early_cma takes it; placing the area
      // is what refuses it ("exceeds limit"), in the board reader's placement (board_fuzz).
      Board board;
      (void)ParseBootargs(text, "fuzz", board);
      break;
    }
    case 1:
      (void)ParseCmaArgument(text);
      break;
    case 2:
      if (Result<std::pair<std::string, HeapSocketMode>> m = ParseHeapMode(text);
          m.ok() && (m->second.mode > 0777 || m->first.empty()))
        __builtin_trap();
      break;
    case 3:
      if (Result<std::pair<std::string, uint64_t>> l = ParseHeapLimit(text);
          l.ok() && (l->second == 0 || l->first.empty()))
        __builtin_trap();
      break;
    case 4:
      if (Result<uint64_t> l = ParseLimitSize("--uid-limit", text); l.ok() && *l == 0)
        __builtin_trap();
      break;
    case 5: {
      std::string why;
      if (Result<std::vector<sys::FaultRule>> rules = sys::ParseFaults(text, &why); rules.ok()) {
        for (const sys::FaultRule& r : *rules) {
          if (r.n == 0 || r.n > r.m || r.err == 0) __builtin_trap();
        }
      } else if (why.empty()) {
        __builtin_trap();  // a refusal always says why
      }
      break;
    }
    default:
      (void)preload::sanitizer::ParseOptions(text.c_str());
      break;
  }
  return 0;
}
