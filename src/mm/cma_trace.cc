#include "mm/cma_trace.h"

#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <charconv>
#include <cinttypes>
#include <fstream>
#include <mutex>

namespace dmaheap {
namespace {

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

bool AllDigits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (c < '0' || c > '9') return false;
  }
  return true;
}

template <typename T>
bool ParseNumber(std::string_view s, T* out, int base = 10) {
  if (s.empty()) return false;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), *out, base);
  return ec == std::errc() && end == s.data() + s.size();
}

bool ParseHex(std::string_view s, uint64_t* out) {
  if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) s.remove_prefix(2);
  return ParseNumber(s, out, 16);
}

// `key=value` fields. `name=` may hold anything up to the next known key.
class Fields {
 public:
  explicit Fields(std::string_view text) : text_(text) {}
  // The value of `key`, or false when it is missing.
  bool Get(std::string_view key, std::string_view* value) const {
    size_t at = 0;
    for (;;) {
      at = text_.find(std::string(key) + "=", at);
      if (at == std::string_view::npos) return false;
      if (at == 0 || text_[at - 1] == ' ') break;
      ++at;
    }
    const size_t start = at + key.size() + 1;
    size_t end = text_.find(' ', start);
    if (key == "name") {
      // The area's name runs to the first " pfn=" or " count=" after it.
      end = std::min(text_.find(" pfn=", start), text_.find(" count=", start));
    }
    *value =
        text_.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    return true;
  }

 private:
  std::string_view text_;
};

struct LineParts {
  std::string_view task, pid, timestamp, event, fields;
};

// The task and pid before the CPU column that starts at `open` (" [CPU]"), or false.
bool SplitTask(std::string_view line, size_t open, LineParts* parts) {
  const size_t close = line.find(']', open);
  if (close == std::string_view::npos || !AllDigits(line.substr(open + 2, close - open - 2))) {
    return false;
  }
  std::string_view head = Trim(line.substr(0, open));
  if (!head.empty() && head.back() == ')') {  // the tgid column: "(  1234)" or "(-----)"
    const size_t paren = head.rfind('(');
    if (paren == std::string_view::npos) return false;
    head = Trim(head.substr(0, paren));
  }
  const size_t dash = head.rfind('-');
  if (dash == std::string_view::npos || dash == 0 || !AllDigits(head.substr(dash + 1))) {
    return false;
  }
  parts->task = head.substr(0, dash);
  parts->pid = head.substr(dash + 1);
  return true;
}

// `TASK-PID [(TGID)] [CPU] [FLAGS] TIMESTAMP: EVENT: FIELDS`. A task's name is anything (ftrace
// prints comm as it is, " [1]" included): the CPU column is the first " [DIGITS]" after which the
// head ends in -PID.
bool SplitEventLine(std::string_view line, LineParts* parts) {
  size_t open = line.find(" [");
  while (open != std::string_view::npos && !SplitTask(line, open, parts)) {
    open = line.find(" [", open + 1);
  }
  if (open == std::string_view::npos) return false;
  const size_t close = line.find(']', open);
  const std::string_view rest = line.substr(close + 1);
  const size_t colon = rest.find(": ");
  if (colon == std::string_view::npos) return false;
  std::string_view before = Trim(rest.substr(0, colon));  // [FLAGS] TIMESTAMP
  const size_t space = before.rfind(' ');
  parts->timestamp = space == std::string_view::npos ? before : before.substr(space + 1);
  const std::string_view after = rest.substr(colon + 2);
  const size_t event_end = after.find(':');
  if (event_end == std::string_view::npos) return false;
  parts->event = after.substr(0, event_end);
  parts->fields = Trim(after.substr(event_end + 1));
  return !parts->event.empty() && parts->timestamp.find('.') != std::string_view::npos;
}

// A page pointer that says "no page": NULL as %p printed it.
bool IsNullPointer(std::string_view p) {
  if (p == "(null)") return true;
  uint64_t v = 1;
  return ParseHex(p, &v) && v == 0;
}

auto Fail(std::string* error, size_t line, const std::string& what) {
  if (error != nullptr) *error = "line " + std::to_string(line) + ": " + what;
  return Errno(EINVAL);
}

// The fields of one cma event into `ev`; what is missing or unreadable, else "".
std::string ReadFields(std::string_view event, const Fields& f, CmaTraceEvent* ev) {
  std::string_view v;
  const bool named = f.Get("name", &v);
  if (named) ev->area = std::string(v);
  if (event == "cma_alloc_start") {
    ev->kind = CmaTraceEvent::Kind::kAllocStart;
    if (!named) return "cma_alloc_start without name=";
  } else if (event == "cma_alloc_finish" || event == "cma_alloc") {
    ev->kind = CmaTraceEvent::Kind::kAlloc;
    if (event == "cma_alloc_finish" && !named) return "cma_alloc_finish without name=";
  } else {
    ev->kind = CmaTraceEvent::Kind::kRelease;
  }
  if (!f.Get("count", &v) || !ParseNumber(v, &ev->count)) return "count= is not a number";
  if (ev->kind != CmaTraceEvent::Kind::kRelease) {
    if (!f.Get("align", &v) || !ParseNumber(v, &ev->align) || ev->align > 63) {
      return "align= is not an order";
    }
  }
  if (ev->kind == CmaTraceEvent::Kind::kAllocStart) return "";
  std::string_view page;
  if (!f.Get("pfn", &v) || !ParseHex(v, &ev->pfn)) return "pfn= is not a hex number";
  if (!f.Get("page", &page)) return "page= is missing";
  if (ev->kind == CmaTraceEvent::Kind::kAlloc) {
    if (event == "cma_alloc_finish") {
      int err = 0;
      if (!f.Get("errorno", &v) || !ParseNumber(v, &err)) return "errorno= is not a number";
      ev->ok = err == 0;
    } else {
      ev->ok = ev->pfn != ~uint64_t{0} && !IsNullPointer(page);
    }
  }
  if (ev->kind == CmaTraceEvent::Kind::kRelease || ev->ok) {
    if (ev->count == 0) return "count=0";
  }
  return "";
}

}  // namespace

Result<std::vector<CmaTraceEvent>> ParseCmaTrace(std::string_view text, std::string* error) {
  std::vector<CmaTraceEvent> events;
  size_t number = 0;
  while (!text.empty()) {
    ++number;
    const size_t nl = text.find('\n');
    const std::string_view raw = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    const std::string_view line = Trim(raw);
    if (line.empty() || line.front() == '#') continue;
    LineParts parts;
    if (!SplitEventLine(line, &parts)) {
      return Fail(error, number,
                  "not an ftrace event line (TASK-PID [CPU] TIMESTAMP: EVENT: FIELDS)");
    }
    const std::string_view e = parts.event;
    if (e != "cma_alloc_start" && e != "cma_alloc_finish" && e != "cma_alloc" &&
        e != "cma_release") {
      continue;  // another event (cma_alloc_busy_retry, cma_alloc_info, anything else)
    }
    CmaTraceEvent ev;
    ev.line = number;
    ev.task = std::string(parts.task);
    if (!ParseNumber(parts.pid, &ev.pid)) return Fail(error, number, "the pid is not a number");
    char* end = nullptr;
    const std::string ts(parts.timestamp);
    ev.timestamp = std::strtod(ts.c_str(), &end);
    if (end != ts.c_str() + ts.size()) return Fail(error, number, "the timestamp is not a number");
    if (const std::string why = ReadFields(e, Fields(parts.fields), &ev); !why.empty()) {
      return Fail(error, number, std::string(e) + ": " + why);
    }
    events.push_back(std::move(ev));
  }
  return events;
}

std::string CmaTraceHeader() {
  return "# tracer: nop\n"
         "#\n"
         "# written by dmaheapd --record: the cma events of its CMA areas\n"
         "#\n"
         "#           TASK-PID     CPU#  |||||  TIMESTAMP  FUNCTION\n"
         "#              | |         |   |||||     |         |\n";
}

std::string FormatCmaTraceEvent(const CmaTraceEvent& ev) {
  char head[96], body[320];
  const auto secs = static_cast<unsigned long long>(ev.timestamp);
  const auto usecs =
      static_cast<unsigned long long>((ev.timestamp - static_cast<double>(secs)) * 1e6);
  std::snprintf(head, sizeof(head), "%16.16s-%-7d [000] ..... %5llu.%06llu: ", ev.task.c_str(),
                static_cast<int>(ev.pid), secs, usecs);
  // struct page pointers as arm64's vmemmap would place them (64-byte struct page).
  const uint64_t page = ev.ok ? 0xfffffc0000000000ull + ev.pfn * 64 : 0;
  switch (ev.kind) {
    case CmaTraceEvent::Kind::kAllocStart:
      std::snprintf(body, sizeof(body), "cma_alloc_start: name=%s count=%" PRIu64 " align=%u",
                    ev.area.c_str(), ev.count, ev.align);
      break;
    case CmaTraceEvent::Kind::kAlloc:
      std::snprintf(body, sizeof(body),
                    "cma_alloc_finish: name=%s pfn=0x%" PRIx64 " page=%016" PRIx64 " count=%" PRIu64
                    " align=%u errorno=%d",
                    ev.area.c_str(), ev.ok ? ev.pfn : 0, page, ev.count, ev.align,
                    ev.ok ? 0 : -ENOMEM);
      break;
    case CmaTraceEvent::Kind::kRelease:
      std::snprintf(body, sizeof(body),
                    "cma_release: name=%s pfn=0x%" PRIx64 " page=%016" PRIx64 " count=%" PRIu64,
                    ev.area.c_str(), ev.pfn, page, ev.count);
      break;
  }
  return std::string(head) + body + "\n";
}

namespace {

std::atomic<CmaTraceRecorder*> g_recorder{nullptr};
thread_local pid_t t_task = 0;
std::mutex g_write_mu;

std::string CommOf(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/comm");
  std::string comm;
  std::getline(in, comm);
  return comm.empty() ? "<...>" : comm;
}

double Now() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

}  // namespace

CmaTraceRecorder::CmaTraceRecorder(std::FILE* out) : out_(out) {
  std::fputs(CmaTraceHeader().c_str(), out_);
  std::fflush(out_);
}

void CmaTraceRecorder::Install(CmaTraceRecorder* recorder) { g_recorder.store(recorder); }
CmaTraceRecorder* CmaTraceRecorder::Get() { return g_recorder.load(std::memory_order_relaxed); }

CmaTraceRecorder::ScopedTask::ScopedTask(pid_t pid) : previous_(t_task) { t_task = pid; }
CmaTraceRecorder::ScopedTask::~ScopedTask() { t_task = previous_; }

void CmaTraceRecorder::Write(CmaTraceEvent ev) {
  ev.pid = t_task != 0 ? t_task : ::getpid();
  ev.task = CommOf(ev.pid);
  ev.timestamp = Now();
  const std::string line = FormatCmaTraceEvent(ev);
  std::lock_guard lock(g_write_mu);
  std::fputs(line.c_str(), out_);
  std::fflush(out_);
}

void CmaTraceRecorder::AllocStart(const std::string& area, uint64_t count, unsigned align) {
  Write({.kind = CmaTraceEvent::Kind::kAllocStart, .area = area, .count = count, .align = align});
}

void CmaTraceRecorder::AllocFinish(const std::string& area, uint64_t pfn, uint64_t count,
                                   unsigned align, int error) {
  Write({.kind = CmaTraceEvent::Kind::kAlloc,
         .area = area,
         .pfn = pfn,
         .count = count,
         .align = align,
         .ok = error == 0});
}

void CmaTraceRecorder::Release(const std::string& area, uint64_t pfn, uint64_t count) {
  Write({.kind = CmaTraceEvent::Kind::kRelease, .area = area, .pfn = pfn, .count = count});
}

}  // namespace dmaheap
