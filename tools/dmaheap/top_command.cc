// dmaheap top [--once]: the daemon's heaps, refreshed every second in the terminal (plain ANSI):
// bytes and buffers per heap, per process (pid, name, bytes, buffers, as dmabuf_dump counts
// them from /proc), each CMA area's map with used and maxchunk, and the last allocation
// failures. `q` quits; a daemon that goes away is said in the frame, which keeps refreshing
// until one answers again. --once prints one frame, without escapes, for scripts.

#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "client/control.h"
#include "client/views.h"
#include "commands.h"
#include "dmabuf/dmabuf_info.h"

namespace dmaheap {
namespace {

volatile sig_atomic_t g_stop = 0;
void OnSignal(int) { g_stop = 1; }

std::string Size(uint64_t bytes) {
  char buf[32];
  if (bytes == 0) return "0";
  if (bytes >= (uint64_t{1} << 30)) {
    std::snprintf(buf, sizeof(buf), "%.1f GiB", static_cast<double>(bytes) / (1 << 30));
  } else if (bytes >= (uint64_t{1} << 20)) {
    std::snprintf(buf, sizeof(buf), "%.1f MiB", static_cast<double>(bytes) / (1 << 20));
  } else {
    std::snprintf(buf, sizeof(buf), "%.1f KiB", static_cast<double>(bytes) / 1024);
  }
  return buf;
}

// `key value` pairs of a stats line after its first words.
uint64_t Field(const std::string& line, const std::string& key) {
  const size_t at = line.find(" " + key + " ");
  return at == std::string::npos ? 0
                                 : std::strtoull(line.c_str() + at + key.size() + 2, nullptr, 10);
}

std::string Clock(time_t when) {
  char buf[16];
  tm t{};
  localtime_r(&when, &t);
  std::strftime(buf, sizeof(buf), "%H:%M:%S", &t);
  return buf;
}

struct Frame {
  std::vector<std::string> head, heaps, cma, procs, failures;
};

Frame Gather() {
  Frame f;
  std::string path;
  char line[256];
  Result<ControlConnection> control = ControlConnection::Open(&path);
  Result<std::string> stats = control.ok() ? control->Request(ControlRequest::kStats)
                                           : Result<std::string>(Errno(control.error()));
  std::snprintf(line, sizeof(line), "dmaheap top - %s  %s  (q quits)", path.c_str(),
                Clock(std::time(nullptr)).c_str());
  f.head.push_back(line);
  if (!stats.ok()) {
    std::snprintf(line, sizeof(line), "no daemon answers (%s): waiting for one",
                  std::strerror(stats.error()));
    f.head.push_back(line);
    return f;
  }
  std::snprintf(line, sizeof(line), "%-24s %8s %12s %12s %8s", "HEAP", "BUFFERS", "BYTES", "PEAK",
                "FAILS");
  f.heaps.push_back(line);
  std::istringstream in(*stats);
  for (std::string l; std::getline(in, l);) {
    if (l.rfind("heap ", 0) == 0) {
      const std::string name = l.substr(5, l.find(' ', 5) - 5);
      std::snprintf(line, sizeof(line), "%-24.24s %8" PRIu64 " %12s %12s %8" PRIu64, name.c_str(),
                    Field(l, "buffers"), Size(Field(l, "bytes")).c_str(),
                    Size(Field(l, "peak")).c_str(), Field(l, "failures"));
      f.heaps.push_back(line);
    } else if (l.rfind("failure ", 0) == 0) {
      const size_t h = l.find(" heap ") + 6;
      const std::string heap = l.substr(h, l.find(' ', h) - h);
      const int err = static_cast<int>(Field(l, "errno"));
      std::snprintf(line, sizeof(line), "%s  %-20.20s %10s  pid %-7" PRIu64 " uid %-6" PRIu64 " %s",
                    Clock(static_cast<time_t>(Field(l, "time"))).c_str(), heap.c_str(),
                    Size(Field(l, "len")).c_str(), Field(l, "pid"), Field(l, "uid"),
                    strerrorname_np(err) != nullptr ? strerrorname_np(err) : "?");
      f.failures.push_back(line);
    }
  }
  if (Result<std::string> cma = control->Request(ControlRequest::kCma); cma.ok()) {
    std::istringstream c(*cma);
    std::map<std::string, std::map<std::string, std::string>> areas;
    std::vector<std::string> order;
    for (std::string l; std::getline(c, l);) {
      const size_t slash = l.find('/'), colon = l.find(": ", slash);
      if (slash == std::string::npos || colon == std::string::npos) continue;
      const std::string name = l.substr(0, slash);
      if (areas.count(name) == 0) order.push_back(name);
      areas[name][l.substr(slash + 1, colon - slash - 1)] = l.substr(colon + 2);
    }
    for (const std::string& name : order) {
      auto& a = areas[name];
      const uint64_t count = std::strtoull(a["count"].c_str(), nullptr, 10);
      std::snprintf(line, sizeof(line), "CMA %s: used %s of %s, largest free chunk %s",
                    name.c_str(),
                    Size(std::strtoull(a["used"].c_str(), nullptr, 10) * 4096).c_str(),
                    Size(count * 4096).c_str(),
                    Size(std::strtoull(a["maxchunk"].c_str(), nullptr, 10) * 4096).c_str());
      f.cma.push_back(line);
      f.cma.push_back(a["map"].substr(0, a["map"].find(']') + 1));
    }
  }
  // Holders from /proc, as dmabuf_dump counts them.
  const DmaBufSnapshot snap = ReadProcfsDmaBufs(0);
  std::map<pid_t, std::pair<uint64_t, uint64_t>> by_pid;  // buffers, bytes
  for (const DmaBufferInfo& b : snap.buffers) {
    std::map<pid_t, bool> holders;
    for (const auto& [pid, n] : b.fd_refs) holders[pid] = true;
    for (const auto& [pid, n] : b.map_refs) holders[pid] = true;
    for (const auto& [pid, yes] : holders) {
      by_pid[pid].first += 1;
      by_pid[pid].second += b.size;
    }
  }
  std::vector<std::pair<pid_t, std::pair<uint64_t, uint64_t>>> rows(by_pid.begin(), by_pid.end());
  std::sort(rows.begin(), rows.end(),
            [](const auto& a, const auto& b) { return a.second.second > b.second.second; });
  std::snprintf(line, sizeof(line), "%-8s %-20s %8s %12s", "PID", "PROCESS", "BUFFERS", "BYTES");
  f.procs.push_back(line);
  for (const auto& [pid, use] : rows) {
    auto comm = snap.comms.find(pid);
    std::snprintf(line, sizeof(line), "%-8d %-20.20s %8" PRIu64 " %12s", static_cast<int>(pid),
                  comm == snap.comms.end() ? "?" : comm->second.c_str(), use.first,
                  Size(use.second).c_str());
    f.procs.push_back(line);
  }
  return f;
}

// The frame's lines for a `rows`-line screen (0: no limit): heads, heaps and CMA areas whole;
// processes and failures share what is left, the newest failures kept.
std::vector<std::string> Layout(const Frame& f, size_t rows) {
  std::vector<std::string> out = f.head;
  auto add = [&](const std::vector<std::string>& lines) {
    if (lines.empty()) return;
    out.push_back("");
    out.insert(out.end(), lines.begin(), lines.end());
  };
  add(f.heaps);
  add(f.cma);
  std::vector<std::string> failures;
  if (!f.failures.empty()) {
    failures.push_back("LAST ALLOCATION FAILURES");
    failures.insert(failures.end(), f.failures.begin(), f.failures.end());
  }
  std::vector<std::string> procs = f.procs;
  if (rows != 0) {
    const size_t used = out.size() + (procs.empty() ? 0 : 1) + (failures.empty() ? 0 : 1);
    size_t left = rows > used ? rows - used : 0;
    // Failures take at most half of what is left (and at least their heading and one).
    size_t fail_rows = std::min(failures.size(), std::max<size_t>(2, left / 2));
    if (failures.empty()) fail_rows = 0;
    if (fail_rows < failures.size() && fail_rows >= 2) {
      failures.erase(failures.begin() + 1, failures.end() - static_cast<long>(fail_rows - 1));
    }
    const size_t proc_rows = left > fail_rows ? left - fail_rows : 0;
    if (procs.size() > proc_rows) {
      const size_t hidden = procs.size() - (proc_rows > 0 ? proc_rows - 1 : 0);
      procs.resize(proc_rows > 0 ? proc_rows - 1 : 0);
      if (proc_rows > 0) procs.push_back("... " + std::to_string(hidden) + " more");
    }
  }
  add(procs);
  add(failures);
  if (rows != 0 && out.size() > rows) out.resize(rows);
  return out;
}

void ScreenSize(size_t* cols, size_t* rows) {
  winsize ws{};
  if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0 && ws.ws_row > 0) {
    *cols = ws.ws_col;
    *rows = ws.ws_row;
  } else {
    *cols = 80;
    *rows = 24;
  }
}

}  // namespace

int TopCommand(bool once) {
  if (once) {
    size_t cols = 80, rows = 24;
    if (isatty(STDOUT_FILENO)) ScreenSize(&cols, &rows);
    for (const std::string& l : Layout(Gather(), 0)) std::printf("%s\n", l.substr(0, cols).c_str());
    return 0;
  }
  if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
    std::fprintf(stderr, "dmaheap top: needs a terminal (--once prints one frame)\n");
    return 2;
  }
  termios saved{};
  tcgetattr(STDIN_FILENO, &saved);
  termios raw = saved;
  raw.c_lflag &= ~static_cast<tcflag_t>(ICANON | ECHO);
  raw.c_cc[VMIN] = 0;
  raw.c_cc[VTIME] = 0;
  tcsetattr(STDIN_FILENO, TCSANOW, &raw);
  struct sigaction sa {};
  sa.sa_handler = OnSignal;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  sa.sa_handler = [](int) {};  // SIGWINCH only interrupts the wait: the next frame is redrawn
  sigaction(SIGWINCH, &sa, nullptr);
  std::fputs("\x1b[?1049h\x1b[?25l", stdout);  // the alternate screen, no cursor
  while (!g_stop) {
    size_t cols = 80, rows = 24;
    ScreenSize(&cols, &rows);
    std::string screen = "\x1b[H";
    for (const std::string& l : Layout(Gather(), rows)) {
      screen += l.substr(0, cols) + "\x1b[K\r\n";
    }
    screen.resize(screen.size() - 2);  // no scroll past the last row
    screen += "\x1b[J";
    std::fputs(screen.c_str(), stdout);
    std::fflush(stdout);
    pollfd p{STDIN_FILENO, POLLIN, 0};
    if (poll(&p, 1, 1000) > 0) {
      char c = 0;
      while (read(STDIN_FILENO, &c, 1) == 1) {
        if (c == 'q' || c == 'Q') g_stop = 1;
      }
    }
  }
  std::fputs("\x1b[?25h\x1b[?1049l", stdout);
  std::fflush(stdout);
  tcsetattr(STDIN_FILENO, TCSANOW, &saved);
  return 0;
}

}  // namespace dmaheap
