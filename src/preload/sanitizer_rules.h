// The sync sanitizer's decisions, apart from its machinery (sanitizer.h) so a plain test can call
// them: what DMAHEAP_SANITIZE asks for, which buffers need SYNC brackets, the open brackets of a
// buffer and the protection they give its mappings, the verdict on a fault, the table of tracked
// mappings (with partial munmap/mprotect/mremap), and the report's text.
//
// The rule it checks: on non-coherent hardware the CPU may touch a dma-buf's mapping only between
// DMA_BUF_IOCTL_SYNC START and END (begin/end_cpu_access invalidate and clean the CPU caches); a
// read outside reads stale lines, a write outside may never reach the device, and a write inside
// a READ-only bracket is not cleaned at END (DMA_FROM_DEVICE). A WRITE bracket permits reads: the
// kernel waits for every fence at its START, x86 page tables cannot express write-only pages, and
// a CPU write fills whole cache lines anyway — so reads there are not reported (README).
#ifndef DMAHEAP_SRC_PRELOAD_SANITIZER_RULES_H
#define DMAHEAP_SRC_PRELOAD_SANITIZER_RULES_H

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <vector>

#include "dmabuf/dma_buf_rules.h"
#include "dmaheap/result.h"
#include "ipc/protocol.h"

namespace dmaheap::preload::sanitizer {

// What the process exits with when it made unbracketed accesses and `keep_going` is off (ASan's
// idea; 23 is no code a test harness or a shell gives a meaning to).
inline constexpr int kExitCode = 23;
// Reports printed in full per process; later ones are counted only (the summary has them all).
inline constexpr uint64_t kMaxPrintedReports = 64;

// DMAHEAP_SANITIZE: unset or "" → off; "sync" → on; "sync:continue" → on, keeping the program's
// exit status. Anything else: EINVAL.
struct Options {
  bool sync = false;
  bool keep_going = false;
};
Result<Options> ParseOptions(const char* value);

// Whether a buffer of this heap needs brackets: only cached CPU mappings do. A heap the daemon
// could not describe (an older daemon, none reachable) is taken as cached: a false report is
// better than a missed one.
bool NeedsBrackets(const Result<HeapInfo>& info);

// The open SYNC brackets of one buffer in this process, counted per direction so nested and
// overlapping brackets (two threads, two mappings) close only when the last one ends. An END
// without its START is valid for the kernel (it never pairs): counts stay at zero.
// The SYNC flags a validated SYNC carried, from the direction the dma-buf core decoded.
uint64_t SyncFlags(DmaDirection dir, bool end);

struct Brackets {
  uint32_t readers = 0;  // open brackets with DMA_BUF_SYNC_READ
  uint32_t writers = 0;  // open brackets with DMA_BUF_SYNC_WRITE
  // Applies valid SYNC flags (START or END, READ and/or WRITE).
  void Apply(uint64_t sync_flags);
  // What the CPU may do now: PROT_NONE, PROT_READ, or PROT_READ | PROT_WRITE.
  int Prot() const;
};

// The protection of a tracked mapping the program asked `wanted` for, under `brackets`.
int EffectiveProt(int wanted, const Brackets& brackets);

enum class Access { kRead, kWrite, kUnknown };  // kUnknown: the CPU does not say (not x86_64)

enum class Verdict {
  kNotOurs,             // the program's own protection refuses it: a real fault, chained on
  kRetry,               // the brackets allow it (a SYNC raced the fault): retry the access
  kOutside,             // CPU access outside every bracket
  kWriteInReadBracket,  // a write while only READ brackets are open
};
Verdict Judge(Access access, int wanted, const Brackets& brackets);

// The protection the faulting page gets after its report, so the program continues: the access
// it needed, never more than `wanted`. The next SYNC of the buffer takes it back, so each page is
// reported once per period between SYNCs (and once more if a read-granted page is then written).
int GrantedProt(Access access, int wanted, const Brackets& brackets);

// The last report printed for a buffer since its last SYNC. A loop over a buffer faults once per
// page at the same instruction: those pages are counted, and printed once.
struct LastReport {
  uintptr_t pc = 0;
  Verdict verdict = Verdict::kOutside;
  Access access = Access::kUnknown;
  bool valid = false;
  // True when this fault repeats the last report; otherwise it becomes the last report.
  bool Repeats(uintptr_t fault_pc, Verdict fault_verdict, Access fault_access);
};

// A buffer in this process: the memfd's device and inode (a buffer of 2 MiB or more may live on
// a private huge-page tmpfs, so the inode alone is not unique).
struct BufferId {
  dev_t dev = 0;
  ino_t ino = 0;
  auto operator<=>(const BufferId&) const = default;
};

struct TrackedMapping {
  uintptr_t start = 0;
  size_t length = 0;    // whole pages
  uint64_t offset = 0;  // in the buffer, of `start`
  BufferId buffer;
  int wanted = 0;  // the protection the program asked for (mmap, later mprotect)
  uintptr_t end() const { return start + length; }
};

// The tracked mappings of this process, by address. Not thread-safe (the machinery locks).
class MappingTable {
 public:
  // Replaces whatever was tracked in its range (MAP_FIXED maps over).
  void Add(const TrackedMapping& mapping);
  // Forgets [addr, addr + len) (rounded out to pages); pieces outside it stay, their offsets
  // adjusted — munmap of part of a mapping. Returns the pieces forgotten.
  std::vector<TrackedMapping> Remove(uintptr_t addr, size_t len);
  // Sets `wanted` on the tracked pages in [addr, addr + len), splitting mappings at its ends;
  // returns the pieces changed — mprotect by the program.
  std::vector<TrackedMapping> SetWanted(uintptr_t addr, size_t len, int prot);
  // The mapping holding `addr`, or null.
  const TrackedMapping* Find(uintptr_t addr) const;
  std::vector<TrackedMapping> OfBuffer(const BufferId& buffer) const;
  bool Overlaps(uintptr_t addr, size_t len) const;
  size_t size() const { return by_start_.size(); }

 private:
  // Splits the mapping holding `at` (if any, and not starting there) in two at `at`.
  void SplitAt(uintptr_t at);
  std::map<uintptr_t, TrackedMapping> by_start_;
};

// One report, as the handler knows it. Strings are NUL-terminated and may be empty.
struct Report {
  pid_t pid = 0;
  Verdict verdict = Verdict::kOutside;
  Access access = Access::kUnknown;
  const char* name = "";  // DMA_BUF_SET_NAME's, if the shim saw one
  const char* heap = "";
  BufferId buffer;
  uint64_t offset = 0;  // of the access, in the buffer
  uintptr_t address = 0;
  uintptr_t pc = 0;
};

// The report's lines before its backtrace, into `out` (at most `cap` bytes; truncated, never
// overrun). Async-signal-safe: no allocation, no locale, no stdio. Returns the length.
size_t FormatReport(const Report& report, char* out, size_t cap);
// The line after the backtrace (what is reported again, and when).
size_t FormatReportEnd(pid_t pid, char* out, size_t cap);
// The line printed at exit when `pages` page faults were violations, `printed` of them reported
// in full.
size_t FormatSummary(pid_t pid, uint64_t pages, uint64_t printed, bool keep_going, char* out,
                     size_t cap);

}  // namespace dmaheap::preload::sanitizer

#endif  // DMAHEAP_SRC_PRELOAD_SANITIZER_RULES_H
