// The sync sanitizer's machinery (sanitizer.h); its decisions are in sanitizer_rules.h.

#include "preload/sanitizer.h"

#include <execinfo.h>
#include <pthread.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <ucontext.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "ipc/heap_call.h"
#include "platform/fd_info.h"
#include "preload/sanitizer_rules.h"
#include "preload/shim.h"

namespace dmaheap::preload::sanitizer {

bool g_enabled = false;

namespace {

pid_t Tid() { return static_cast<pid_t>(::syscall(SYS_gettid)); }

// The sanitizer's own system calls, past the shim's interposers and async-signal-safe.
void RawProtect(uintptr_t addr, size_t len, int prot) {
  (void)::syscall(SYS_mprotect, addr, len, prot);
}
void RawWrite(const char* text, size_t len) {
  while (len > 0) {
    const long n = ::syscall(SYS_write, STDERR_FILENO, text, len);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;
    text += n;
    len -= static_cast<size_t>(n);
  }
}

uintptr_t PageSize() {
  static const uintptr_t size = static_cast<uintptr_t>(::sysconf(_SC_PAGESIZE));
  return size;
}

// A lock that knows its owner, so the SIGSEGV handler can tell "this thread holds it" (it
// faulted inside the sanitizer, or a signal handler touched a buffer while this thread held it:
// waiting would never end) from "another thread holds it" (wait). Lock and unlock are single
// atomic operations: no window in which the handler could find it half-taken.
class OwnedLock {
 public:
  void lock() {
    const pid_t self = Tid();
    pid_t expected = 0;
    while (!owner_.compare_exchange_weak(expected, self, std::memory_order_acquire)) {
      expected = 0;
      ::sched_yield();
    }
  }
  void unlock() { owner_.store(0, std::memory_order_release); }
  bool HeldByMe() const { return owner_.load(std::memory_order_relaxed) == Tid(); }
  // In a forked child: the parent's holder (this thread, in the prepare handler) is gone.
  void Reset() { owner_.store(0, std::memory_order_relaxed); }

 private:
  std::atomic<pid_t> owner_{0};
};

struct BufferState {
  std::string heap;
  std::string name;      // DMA_BUF_SET_NAME's, as seen by the shim
  bool learned = false;  // heap known (from the first mapping)
  Brackets brackets;
  LastReport last;  // since the last SYNC
};

struct State {
  Options options;
  OwnedLock lock;  // guards table, buffers and chained
  MappingTable table;
  std::map<BufferId, BufferState> buffers;
  std::atomic<size_t> tracked{0};  // table.size(), read without the lock on the fast path
  struct sigaction chained {};     // the program's SIGSEGV disposition
  std::mutex heaps_mu;             // guards needs_brackets (never taken by the handler)
  std::map<std::string, bool> needs_brackets;  // by heap name
  std::atomic<uint64_t> reports{0};            // pages faulted outside their brackets
  std::atomic<uint64_t> printed{0};            // reports printed in full
  std::atomic<bool> summarised{false};
  decltype(&::sigaction) real_sigaction = nullptr;
};
State* g_state = nullptr;  // leaked: its destructors must never run before the exit check

class Guard {
 public:
  explicit Guard(OwnedLock& lock) : lock_(lock) { lock_.lock(); }
  ~Guard() { lock_.unlock(); }
  Guard(const Guard&) = delete;
  Guard& operator=(const Guard&) = delete;

 private:
  OwnedLock& lock_;
};

std::optional<BufferId> IdOf(int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return std::nullopt;
  return BufferId{st.st_dev, st.st_ino};
}

// Whether buffers of `heap` need brackets, asked of the daemon once per heap.
bool HeapNeedsBrackets(const std::string& heap) {
  State& s = *g_state;
  {
    std::lock_guard lock(s.heaps_mu);
    if (auto it = s.needs_brackets.find(heap); it != s.needs_brackets.end()) return it->second;
  }
  Result<HeapInfo> info = Errno(ENOENT);
  {
    Inside inside;
    if (!heap.empty()) info = QueryHeapInfo(St().heap_dir, heap);
  }
  const bool needs = NeedsBrackets(info);
  std::lock_guard lock(s.heaps_mu);
  s.needs_brackets.emplace(heap, needs);
  return needs;
}

// Forgets the buffers nothing refers to any more: no mapping, no open bracket, no name. (A named
// buffer is kept: its name must outlive its mappings for the next one's reports.) Requires lock.
void Collect(const std::vector<TrackedMapping>& removed) {
  State& s = *g_state;
  for (const TrackedMapping& m : removed) {
    auto it = s.buffers.find(m.buffer);
    if (it == s.buffers.end()) continue;
    const BufferState& b = it->second;
    if (b.brackets.Prot() == PROT_NONE && b.name.empty() && s.table.OfBuffer(m.buffer).empty())
      s.buffers.erase(it);
  }
}

// Requires lock.
void Forget(void* addr, size_t len) {
  State& s = *g_state;
  Collect(s.table.Remove(reinterpret_cast<uintptr_t>(addr), len));
  s.tracked.store(s.table.size(), std::memory_order_relaxed);
}

// ---- the SIGSEGV handler --------------------------------------------------------------------

void Chain(int sig, siginfo_t* info, void* ucontext) {
  State& s = *g_state;
  struct sigaction prev {};
  if (s.lock.HeldByMe()) {
    prev = s.chained;
  } else {
    Guard g(s.lock);
    prev = s.chained;
  }
  if ((prev.sa_flags & SA_SIGINFO) != 0) {
    if (prev.sa_sigaction != nullptr) prev.sa_sigaction(sig, info, ucontext);
    return;
  }
  const bool sent = info == nullptr || info->si_code <= 0;  // kill(), not a fault
  if (prev.sa_handler == SIG_IGN && sent) return;
  if (prev.sa_handler == SIG_DFL || prev.sa_handler == SIG_IGN) {
    // The default action: for a fault the instruction runs again and meets it; a sent signal is
    // sent again (blocked until this handler returns).
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    s.real_sigaction(sig, &dfl, nullptr);
    if (sent) ::syscall(SYS_tgkill, ::getpid(), Tid(), sig);
    return;
  }
  prev.sa_handler(sig);
}

Access AccessOf(const ucontext_t* uc, uintptr_t* pc) {
#if defined(__x86_64__)
  *pc = static_cast<uintptr_t>(uc->uc_mcontext.gregs[REG_RIP]);
  // The page-fault error code: bit 1 is set for a write.
  return (uc->uc_mcontext.gregs[REG_ERR] & 2) != 0 ? Access::kWrite : Access::kRead;
#elif defined(__aarch64__)
  *pc = static_cast<uintptr_t>(uc->uc_mcontext.pc);
  return Access::kUnknown;
#else
  (void)uc;
  *pc = 0;
  return Access::kUnknown;
#endif
}

// Prints one report. Called with the lock held, so reports of several threads do not mix.
// backtrace() is not async-signal-safe on its first call (it loads libgcc_s), so Init calls it
// once; later calls and backtrace_symbols_fd (dladdr, write) allocate nothing. The faulting
// thread is in the program's own code, never in the loader, so dladdr's lock is free.
void PrintReport(const Report& report) {
  char text[1024];
  RawWrite(text, FormatReport(report, text, sizeof(text)));
  void* frames[64];
  const int count = ::backtrace(frames, 64);
  int first = 0;  // the faulting frame: the handler's own frames are not the program's
  for (int i = 0; i < count; ++i) {
    if (reinterpret_cast<uintptr_t>(frames[i]) == report.pc) {
      first = i;
      break;
    }
  }
  ::backtrace_symbols_fd(frames + first, count - first, STDERR_FILENO);
  RawWrite(text, FormatReportEnd(report.pid, text, sizeof(text)));
}

void Handler(int sig, siginfo_t* info, void* ucontext) {
  const int saved_errno = errno;
  State& s = *g_state;
  // A tracked page the sanitizer protected faults with SEGV_ACCERR; anything else is not ours.
  if (info == nullptr || info->si_code != SEGV_ACCERR || s.lock.HeldByMe()) {
    Chain(sig, info, ucontext);
    errno = saved_errno;
    return;
  }
  const auto addr = reinterpret_cast<uintptr_t>(info->si_addr);
  uintptr_t pc = 0;
  const Access access = AccessOf(static_cast<const ucontext_t*>(ucontext), &pc);
  s.lock.lock();
  const TrackedMapping* m = s.table.Find(addr);
  auto it = m != nullptr ? s.buffers.find(m->buffer) : s.buffers.end();
  const Verdict verdict =
      it != s.buffers.end() ? Judge(access, m->wanted, it->second.brackets) : Verdict::kNotOurs;
  if (verdict == Verdict::kNotOurs) {
    s.lock.unlock();
    Chain(sig, info, ucontext);
    errno = saved_errno;
    return;
  }
  BufferState& b = it->second;
  const uintptr_t page = addr & ~(PageSize() - 1);
  if (verdict == Verdict::kRetry) {
    RawProtect(page, PageSize(), EffectiveProt(m->wanted, b.brackets));
  } else {
    s.reports.fetch_add(1, std::memory_order_relaxed);
    if (!b.last.Repeats(pc, verdict, access) &&
        s.printed.load(std::memory_order_relaxed) < kMaxPrintedReports) {
      s.printed.fetch_add(1, std::memory_order_relaxed);
      Report report;
      report.pid = ::getpid();
      report.verdict = verdict;
      report.access = access;
      report.name = b.name.c_str();
      report.heap = b.heap.c_str();
      report.buffer = m->buffer;
      report.offset = m->offset + (addr - m->start);
      report.address = addr;
      report.pc = pc;
      PrintReport(report);
    }
    RawProtect(page, PageSize(), GrantedProt(access, m->wanted, b.brackets));
  }
  s.lock.unlock();
  errno = saved_errno;
}

// ---- fork and exit --------------------------------------------------------------------------

void AtforkPrepare() {
  g_state->heaps_mu.lock();
  g_state->lock.lock();
}
void AtforkParent() {
  g_state->lock.unlock();
  g_state->heaps_mu.unlock();
}
// The child judges its own accesses: its exit status says nothing of its parent's reports.
void AtforkChild() {
  g_state->lock.Reset();
  g_state->heaps_mu.unlock();
  g_state->reports.store(0, std::memory_order_relaxed);
  g_state->printed.store(0, std::memory_order_relaxed);
  g_state->summarised.store(false, std::memory_order_relaxed);
}

// exit() runs the program's atexit handlers and destructors, then this one (the shim is loaded
// before the program, so it is finalised after it), then flushes stdio: so flush here before
// exiting with the sanitizer's status.
[[gnu::destructor]] void AtExit() {
  if (!Enabled()) return;
  const int status = ExitStatus(0);
  if (status != 0) {
    std::fflush(nullptr);
    ::syscall(SYS_exit_group, status);
  }
}

}  // namespace

void Init() {
  const char* value = std::getenv("DMAHEAP_SANITIZE");
  Result<Options> options = ParseOptions(value);
  if (!options.ok()) {
    std::fprintf(stderr,
                 "dmaheap: DMAHEAP_SANITIZE=%s is not understood (sync, sync:continue); no "
                 "sanitizer\n",
                 value);
    return;
  }
  if (!options->sync) return;
  auto* s = new State();
  s->options = *options;
  s->real_sigaction = Next<decltype(&::sigaction)>("sigaction");
  if (s->real_sigaction == nullptr) return;
  void* warm[2];
  (void)::backtrace(warm, 2);
  g_state = s;
  struct sigaction act {};
  act.sa_sigaction = Handler;
  act.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_RESTART;
  sigemptyset(&act.sa_mask);
  if (s->real_sigaction(SIGSEGV, &act, &s->chained) != 0) return;
  ::pthread_atfork(AtforkPrepare, AtforkParent, AtforkChild);
  g_enabled = true;
}

void* Map(MmapFn real, void* addr, size_t len, int prot, int flags, int fd, off_t off,
          bool buffer) {
  State& s = *g_state;
  std::optional<BufferId> id;
  std::string heap;
  if (buffer) {
    id = IdOf(fd);
    bool learned = false;
    if (id) {
      Guard g(s.lock);
      auto it = s.buffers.find(*id);
      learned = it != s.buffers.end() && it->second.learned;
    }
    // A buffer of an uncached heap is mapped as any other memory.
    if (id && !learned) {
      sys::BufferHeapOfFd(fd, &heap);
      if (!HeapNeedsBrackets(heap)) id.reset();
    }
  }
  if (!id) {
    // MAP_FIXED maps over whatever was there, tracked mappings included.
    if ((flags & MAP_FIXED) == 0 || s.tracked.load(std::memory_order_relaxed) == 0)
      return real(addr, len, prot, flags, fd, off);
    Guard g(s.lock);
    void* p = real(addr, len, prot, flags, fd, off);
    if (p != MAP_FAILED) Forget(p, len);
    return p;
  }
  Guard g(s.lock);
  void* p = real(addr, len, prot, flags, fd, off);
  if (p == MAP_FAILED) return p;
  Forget(p, len);
  BufferState& b = s.buffers[*id];
  if (!b.learned) {
    b.heap = heap;
    b.learned = true;
  }
  const auto start = reinterpret_cast<uintptr_t>(p);
  s.table.Add({start, len, static_cast<uint64_t>(off), *id, prot});
  s.tracked.store(s.table.size(), std::memory_order_relaxed);
  RawProtect(start, len, EffectiveProt(prot, b.brackets));
  return p;
}

int Unmap(MunmapFn real, void* addr, size_t len) {
  State& s = *g_state;
  if (s.tracked.load(std::memory_order_relaxed) == 0) return real(addr, len);
  Guard g(s.lock);
  const int rc = real(addr, len);
  if (rc == 0) Forget(addr, len);
  return rc;
}

int Protect(MprotectFn real, void* addr, size_t len, int prot) {
  State& s = *g_state;
  const auto start = reinterpret_cast<uintptr_t>(addr);
  if (s.tracked.load(std::memory_order_relaxed) == 0) return real(addr, len, prot);
  Guard g(s.lock);
  if (!s.table.Overlaps(start, len)) return real(addr, len, prot);
  // The program's protection first, so its errors (EACCES for a read-only buffer) are the
  // kernel's; then the tracked pages go back to what their brackets allow.
  const int rc = real(addr, len, prot);
  if (rc != 0) return rc;
  for (const TrackedMapping& m : s.table.SetWanted(start, len, prot)) {
    RawProtect(m.start, m.length, EffectiveProt(prot, s.buffers[m.buffer].brackets));
  }
  return 0;
}

void* Remap(MremapFn real, void* old_addr, size_t old_size, size_t new_size, int flags,
            void* new_addr) {
  State& s = *g_state;
  if (s.tracked.load(std::memory_order_relaxed) == 0)
    return real(old_addr, old_size, new_size, flags, new_addr);
  Guard g(s.lock);
  const auto old_start = reinterpret_cast<uintptr_t>(old_addr);
  std::optional<TrackedMapping> moved;
  if (const TrackedMapping* m = s.table.Find(old_start)) moved = *m;
  void* p = real(old_addr, old_size, new_size, flags, new_addr);
  if (p == MAP_FAILED) return p;
  std::vector<TrackedMapping> removed = s.table.Remove(old_start, old_size);
  if (moved) {
    TrackedMapping m = *moved;
    m.offset += old_start - m.start;
    m.start = reinterpret_cast<uintptr_t>(p);
    m.length = new_size;
    s.table.Add(m);
    RawProtect(m.start, new_size, EffectiveProt(m.wanted, s.buffers[m.buffer].brackets));
  } else {
    std::vector<TrackedMapping> over = s.table.Remove(reinterpret_cast<uintptr_t>(p), new_size);
    removed.insert(removed.end(), over.begin(), over.end());
  }
  Collect(removed);
  s.tracked.store(s.table.size(), std::memory_order_relaxed);
  return p;
}

void Synced(int fd, uint64_t sync_flags) {
  State& s = *g_state;
  std::optional<BufferId> id = IdOf(fd);
  if (!id) return;
  Guard g(s.lock);
  BufferState& b = s.buffers[*id];
  b.brackets.Apply(sync_flags);
  b.last = LastReport{};
  // Every SYNC starts a new period: pages granted by reports are taken back too.
  std::vector<TrackedMapping> mappings = s.table.OfBuffer(*id);
  for (const TrackedMapping& m : mappings) {
    RawProtect(m.start, m.length, EffectiveProt(m.wanted, b.brackets));
  }
  if (mappings.empty() && b.brackets.Prot() == PROT_NONE && b.name.empty()) s.buffers.erase(*id);
}

void Named(int fd, std::string_view name) {
  State& s = *g_state;
  std::optional<BufferId> id = IdOf(fd);
  if (!id) return;
  Guard g(s.lock);
  s.buffers[*id].name.assign(name);
}

int SegvAction(const struct sigaction* act, struct sigaction* old) {
  State& s = *g_state;
  Guard g(s.lock);
  if (old != nullptr) *old = s.chained;
  if (act != nullptr) s.chained = *act;
  return 0;
}

int ExitStatus(int status) {
  State& s = *g_state;
  const uint64_t reports = s.reports.load(std::memory_order_relaxed);
  if (reports == 0) return status;
  if (!s.summarised.exchange(true)) {
    char text[256];
    RawWrite(text, FormatSummary(::getpid(), reports, s.printed.load(), s.options.keep_going, text,
                                 sizeof(text)));
  }
  return s.options.keep_going ? status : kExitCode;
}

}  // namespace dmaheap::preload::sanitizer
