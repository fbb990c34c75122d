// The kernel's `cma` trace events as text (include/trace/events/cma.h, as
// /sys/kernel/tracing/trace prints them): read from a device's capture, written by
// `dmaheapd --record`, replayed by `dmaheap replay` (mm/cma_replay.h).
//
// Two generations are read:
//   5.x+  cma_alloc_start: name=N count=C align=A
//         cma_alloc_finish: name=N pfn=0xP page=PTR count=C align=A errorno=E
//         cma_release: name=N pfn=0xP page=PTR count=C
//   older cma_alloc: pfn=P page=PTR count=C align=A      (pfn -1 / page NULL: failed)
//         cma_release: pfn=P page=PTR count=C            (no area name)
// pfn is hex, with or without 0x, as the kernel's versions printed it. Each event line is
// ftrace's: `TASK-PID [CPU] FLAGS TIMESTAMP: EVENT: FIELDS`, the flags column optional and a
// `(TGID)` column allowed. Comment lines (#), blank lines and every other event are skipped; a
// line that is not an event line, or a cma event whose fields cannot be read, stops the parse
// with its line number — nothing is guessed.
#ifndef DMAHEAP_SRC_MM_CMA_TRACE_H
#define DMAHEAP_SRC_MM_CMA_TRACE_H

#include <sys/types.h>

#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

#include "dmaheap/result.h"

namespace dmaheap {

struct CmaTraceEvent {
  enum class Kind { kAllocStart, kAlloc, kRelease };
  Kind kind = Kind::kAlloc;
  size_t line = 0;   // 1-based, in the capture
  std::string task;  // ftrace's comm ("<...>" when it did not know)
  pid_t pid = 0;
  double timestamp = 0;  // seconds
  std::string area;      // "" in the old format
  uint64_t pfn = 0;      // kAlloc (when ok) and kRelease
  uint64_t count = 0;    // pages
  unsigned align = 0;    // an order, as cma_alloc takes it
  bool ok = true;        // kAlloc: errorno 0 (old format: a page came back)
};

// Parses a capture. On error, *error (when given) says `line N: what` and the result is EINVAL.
Result<std::vector<CmaTraceEvent>> ParseCmaTrace(std::string_view text, std::string* error);

// The new format's lines, as a device's trace prints them; `CmaTraceHeader` is the file's head.
std::string CmaTraceHeader();
std::string FormatCmaTraceEvent(const CmaTraceEvent& event);

// Where `dmaheapd --record` writes, set once at start (null: not recording). The CMA area calls
// these; each writes one line and flushes it, so a crash loses nothing written before it.
class CmaTraceRecorder {
 public:
  explicit CmaTraceRecorder(std::FILE* out);
  void AllocStart(const std::string& area, uint64_t count, unsigned align);
  void AllocFinish(const std::string& area, uint64_t pfn, uint64_t count, unsigned align,
                   int error);
  void Release(const std::string& area, uint64_t pfn, uint64_t count);

  static void Install(CmaTraceRecorder* recorder);
  static CmaTraceRecorder* Get();

  // The task the next lines of this thread are for (the requesting process while a request is
  // served); the calling process otherwise.
  class ScopedTask {
   public:
    explicit ScopedTask(pid_t pid);
    ~ScopedTask();
    ScopedTask(const ScopedTask&) = delete;
    ScopedTask& operator=(const ScopedTask&) = delete;

   private:
    pid_t previous_;
  };

 private:
  void Write(CmaTraceEvent event);
  std::FILE* out_;
};

}  // namespace dmaheap

#endif  // DMAHEAP_SRC_MM_CMA_TRACE_H
