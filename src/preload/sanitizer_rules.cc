#include "preload/sanitizer_rules.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "dmaheap/uapi/linux/dma-buf.h"

namespace dmaheap::preload::sanitizer {
namespace {

uintptr_t PageSize() {
  static const uintptr_t size = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  return size;
}
uintptr_t PageDown(uintptr_t a) { return a & ~(PageSize() - 1); }
uintptr_t PageUp(uintptr_t a) { return PageDown(a + PageSize() - 1); }

constexpr int kReadWrite = PROT_READ | PROT_WRITE;

// Appends to a fixed buffer, truncating; what the handler formats with (no allocation).
class Text {
 public:
  Text(char* out, size_t cap) : out_(out), cap_(cap) {}
  Text& Str(const char* s) {
    while (*s != '\0') Char(*s++);
    return *this;
  }
  Text& Dec(uint64_t v) {
    char digits[20];
    int n = 0;
    do {
      digits[n++] = static_cast<char>('0' + v % 10);
      v /= 10;
    } while (v != 0);
    while (n > 0) Char(digits[--n]);
    return *this;
  }
  Text& Hex(uint64_t v) {
    Str("0x");
    char digits[16];
    int n = 0;
    do {
      digits[n++] = "0123456789abcdef"[v & 0xf];
      v >>= 4;
    } while (v != 0);
    while (n > 0) Char(digits[--n]);
    return *this;
  }
  // "==PID== ", the prefix of every line (as ASan's).
  Text& Prefix(pid_t pid) { return Str("==").Dec(static_cast<uint64_t>(pid)).Str("== "); }
  size_t size() const { return len_; }

 private:
  void Char(char c) {
    if (len_ < cap_) out_[len_++] = c;
  }
  char* out_;
  size_t cap_;
  size_t len_ = 0;
};

const char* OrNone(const char* s, const char* none) {
  return s != nullptr && *s != '\0' ? s : none;
}

}  // namespace

Result<Options> ParseOptions(const char* value) {
  Options options;
  if (value == nullptr || *value == '\0') return options;
  if (std::strcmp(value, "sync") == 0) {
    options.sync = true;
  } else if (std::strcmp(value, "sync:continue") == 0) {
    options.sync = true;
    options.keep_going = true;
  } else {
    return Errno(EINVAL);
  }
  return options;
}

bool NeedsBrackets(const Result<HeapInfo>& info) {
  return !info.ok() || (info->flags & kHeapInfoCached) != 0;
}

uint64_t SyncFlags(DmaDirection dir, bool end) {
  uint64_t flags = end ? DMA_BUF_SYNC_END : DMA_BUF_SYNC_START;
  switch (dir) {
    case DmaDirection::kFromDevice:
      return flags | DMA_BUF_SYNC_READ;
    case DmaDirection::kToDevice:
      return flags | DMA_BUF_SYNC_WRITE;
    case DmaDirection::kBidirectional:
      return flags | DMA_BUF_SYNC_RW;
  }
  return flags | DMA_BUF_SYNC_RW;
}

void Brackets::Apply(uint64_t sync_flags) {
  const bool end = (sync_flags & DMA_BUF_SYNC_END) != 0;
  auto step = [end](uint32_t& count) {
    if (!end) {
      ++count;
    } else if (count > 0) {
      --count;
    }
  };
  if ((sync_flags & DMA_BUF_SYNC_READ) != 0) step(readers);
  if ((sync_flags & DMA_BUF_SYNC_WRITE) != 0) step(writers);
}

int Brackets::Prot() const {
  if (writers > 0) return kReadWrite;
  if (readers > 0) return PROT_READ;
  return PROT_NONE;
}

int EffectiveProt(int wanted, const Brackets& brackets) { return wanted & brackets.Prot(); }

Verdict Judge(Access access, int wanted, const Brackets& brackets) {
  // PROT_WRITE alone still reads on every MMU Linux runs on.
  const bool may_read = (wanted & kReadWrite) != 0;
  const bool may_write = (wanted & PROT_WRITE) != 0;
  const int now = EffectiveProt(wanted, brackets);
  switch (access) {
    case Access::kRead:
      if (!may_read) return Verdict::kNotOurs;
      if ((now & kReadWrite) != 0) return Verdict::kRetry;
      return Verdict::kOutside;
    case Access::kWrite:
      if (!may_write) return Verdict::kNotOurs;
      if ((now & PROT_WRITE) != 0) return Verdict::kRetry;
      return brackets.readers > 0 ? Verdict::kWriteInReadBracket : Verdict::kOutside;
    case Access::kUnknown:
      if (!may_read) return Verdict::kNotOurs;
      // Everything the program asked for is allowed: a race, unless the program's own read-only
      // protection refused a write.
      if (now == (wanted & kReadWrite)) return may_write ? Verdict::kRetry : Verdict::kNotOurs;
      // Reads pass in a READ bracket, so a fault there was a write.
      if ((now & PROT_READ) != 0) return Verdict::kWriteInReadBracket;
      return Verdict::kOutside;
  }
  return Verdict::kNotOurs;
}

int GrantedProt(Access access, int wanted, const Brackets& brackets) {
  const int needed = access == Access::kRead ? PROT_READ : kReadWrite;
  return wanted & (needed | brackets.Prot());
}

bool LastReport::Repeats(uintptr_t fault_pc, Verdict fault_verdict, Access fault_access) {
  if (valid && pc == fault_pc && verdict == fault_verdict && access == fault_access) return true;
  *this = LastReport{fault_pc, fault_verdict, fault_access, true};
  return false;
}

// ---- MappingTable ---------------------------------------------------------------------------

void MappingTable::SplitAt(uintptr_t at) {
  auto it = by_start_.upper_bound(at);
  if (it == by_start_.begin()) return;
  --it;
  TrackedMapping& left = it->second;
  if (!(left.start < at && at < left.end())) return;
  TrackedMapping right = left;
  right.start = at;
  right.length = left.end() - at;
  right.offset = left.offset + (at - left.start);
  left.length = at - left.start;
  by_start_.emplace(at, right);
}

void MappingTable::Add(const TrackedMapping& mapping) {
  TrackedMapping m = mapping;
  m.length = PageUp(m.length);
  (void)Remove(m.start, m.length);
  by_start_.emplace(m.start, m);
}

std::vector<TrackedMapping> MappingTable::Remove(uintptr_t addr, size_t len) {
  std::vector<TrackedMapping> removed;
  const uintptr_t lo = PageDown(addr), hi = PageUp(addr + len);
  if (hi <= lo || !Overlaps(lo, hi - lo)) return removed;
  SplitAt(lo);
  SplitAt(hi);
  auto it = by_start_.lower_bound(lo);
  while (it != by_start_.end() && it->first < hi) {
    removed.push_back(it->second);
    it = by_start_.erase(it);
  }
  return removed;
}

std::vector<TrackedMapping> MappingTable::SetWanted(uintptr_t addr, size_t len, int prot) {
  std::vector<TrackedMapping> changed;
  const uintptr_t lo = PageDown(addr), hi = PageUp(addr + len);
  if (hi <= lo || !Overlaps(lo, hi - lo)) return changed;
  SplitAt(lo);
  SplitAt(hi);
  for (auto it = by_start_.lower_bound(lo); it != by_start_.end() && it->first < hi; ++it) {
    it->second.wanted = prot;
    changed.push_back(it->second);
  }
  return changed;
}

const TrackedMapping* MappingTable::Find(uintptr_t addr) const {
  auto it = by_start_.upper_bound(addr);
  if (it == by_start_.begin()) return nullptr;
  --it;
  return addr < it->second.end() ? &it->second : nullptr;
}

std::vector<TrackedMapping> MappingTable::OfBuffer(const BufferId& buffer) const {
  std::vector<TrackedMapping> out;
  for (const auto& [start, m] : by_start_) {
    if (m.buffer == buffer) out.push_back(m);
  }
  return out;
}

bool MappingTable::Overlaps(uintptr_t addr, size_t len) const {
  if (len == 0) return false;
  auto it = by_start_.lower_bound(addr);
  if (it != by_start_.end() && it->first < addr + len) return true;
  if (it == by_start_.begin()) return false;
  --it;
  return it->second.end() > addr;
}

// ---- the report's text ----------------------------------------------------------------------

size_t FormatReport(const Report& r, char* out, size_t cap) {
  Text t(out, cap);
  const char* what = r.access == Access::kRead    ? "read"
                     : r.access == Access::kWrite ? "write"
                                                  : "access (read or write)";
  t.Prefix(r.pid).Str("dmaheap sync sanitizer: CPU ").Str(what);
  if (r.verdict == Verdict::kWriteInReadBracket) {
    t.Str(" inside a READ-only DMA_BUF_IOCTL_SYNC bracket\n");
  } else {
    t.Str(" outside a DMA_BUF_IOCTL_SYNC bracket\n");
  }
  t.Prefix(r.pid).Str("  buffer \"").Str(OrNone(r.name, "<none>")).Str("\" heap \"");
  t.Str(OrNone(r.heap, "<unknown>")).Str("\" inode ").Dec(r.buffer.ino).Str("\n");
  t.Prefix(r.pid).Str("  offset ").Dec(r.offset).Str(" (").Hex(r.offset).Str(") in the buffer");
  t.Str(", address ").Hex(r.address).Str(", pc ").Hex(r.pc).Str("\n");
  const char* needed =
      r.access == Access::kRead ? "DMA_BUF_SYNC_READ (or RW)" : "DMA_BUF_SYNC_WRITE (or RW)";
  t.Prefix(r.pid).Str("  needed: DMA_BUF_IOCTL_SYNC START with ").Str(needed);
  t.Str(" before it, END after it\n");
  t.Prefix(r.pid).Str("  backtrace:\n");
  return t.size();
}

size_t FormatReportEnd(pid_t pid, char* out, size_t cap) {
  Text t(out, cap);
  t.Prefix(pid).Str("  (until the buffer's next SYNC this page is not reported again, and other ");
  t.Str("pages this instruction touches are counted, not printed)\n");
  return t.size();
}

size_t FormatSummary(pid_t pid, uint64_t pages, uint64_t printed, bool keep_going, char* out,
                     size_t cap) {
  Text t(out, cap);
  t.Prefix(pid).Str("dmaheap sync sanitizer: ").Dec(pages);
  t.Str(pages == 1 ? " page" : " pages").Str(" touched outside SYNC brackets, ");
  t.Dec(printed).Str(printed == 1 ? " report" : " reports").Str(" printed");
  if (keep_going) {
    t.Str("; exit status kept (DMAHEAP_SANITIZE=sync:continue)\n");
  } else {
    t.Str("; exiting with ").Dec(kExitCode).Str(" (DMAHEAP_SANITIZE=sync:continue keeps the");
    t.Str(" program's own)\n");
  }
  return t.size();
}

}  // namespace dmaheap::preload::sanitizer
