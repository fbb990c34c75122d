// The dmaheap tool's views and actions (commands.h).

#include "commands.h"

#include <dirent.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>

#include "client/control.h"
#include "cma_svg.h"
#include "client/views.h"
#include "ipc/paths.h"
#include "dmaheap/client.h"
#include "base/json.h"

namespace dmaheap {
namespace {

void Print(const std::string& text) { std::fwrite(text.data(), 1, text.size(), stdout); }

std::string JsonArray(const std::vector<std::string>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) out += (i ? ", " : "") + items[i];
  return out + "]";
}

}  // namespace

int ControlCommand(ControlRequest request, const char* what, const std::string& arg) {
  std::string path;
  Result<ControlConnection> control = ControlConnection::Open(&path);
  if (!control.ok() && path.empty()) {
    std::fprintf(stderr, "dmaheap %s: no control socket: set DMAHEAP_DIR or DMAHEAP_CONTROL\n", what);
    return 1;
  }
  if (!control.ok()) {
    std::fprintf(stderr, "dmaheap %s: cannot reach the daemon at %s: %s\n", what, path.c_str(),
                 std::strerror(control.error()));
    return 1;
  }
  Result<std::string> reply = control->Request(request, arg);
  if (!reply.ok()) {
    const char* err = std::strerror(reply.error());
    if (request == ControlRequest::kRmmod) {
      std::fprintf(stderr, "dmaheap rmmod: could not remove module %s: %s\n", arg.c_str(), err);
    } else if (request == ControlRequest::kInsmod || request == ControlRequest::kModprobe) {
      std::fprintf(stderr, "dmaheap %s: could not insert module %s: %s (the daemon's log says why)\n",
                   what, arg.c_str(), err);
    } else {
      std::fprintf(stderr, "dmaheap %s: %s\n", what, err);
    }
    return 1;
  }
  Print(*reply);
  return 0;
}

namespace {

// Says on stderr (stdout stays the command's data) when no daemon answered, as the other views
// do: a program that finds none gets an in-process System whose answers look just as real.
void SayWhichAnswered(const char* command, const Client& client, const std::string& board) {
  if (client.backend() != Backend::kEmbedded) return;
  std::string tried;
  (void)FindDaemonDir(&tried);
  std::fprintf(stderr, "dmaheap %s: no daemon running (looked in %s); board '%s' booted here\n",
               command, tried.c_str(), board.empty() ? "default" : board.c_str());
}

}  // namespace

int HeapsCommand(const ViewOptions& view) {
  ClientOptions options;
  options.board = ViewBoard(view);
  if (view.board_given) options.backend = Backend::kEmbedded;
  Result<std::unique_ptr<Client>> client = Client::Open(options);
  if (!client.ok()) {
    std::fprintf(stderr, "dmaheap heaps: no heaps to list: %s\n", std::strerror(client.error()));
    return 1;
  }
  if (!view.board_given) SayWhichAnswered("heaps", **client, options.board);
  const std::vector<std::string> names = (*client)->HeapNames();
  if (view.json) {
    std::vector<std::string> items;
    for (const std::string& n : names) items.push_back("{\"name\": " + JsonString(n) + "}");
    Print("{\"backend\": " + JsonString(BackendName((*client)->backend())) +
          ", \"heaps\": " + JsonArray(items) + "}\n");
    return 0;
  }
  for (const std::string& n : names) Print(n + "\n");
  return 0;
}

int AllocCommand(const std::string& heap, const std::string& size_text, bool hold, bool json) {
  uint64_t size = 0;
  if (!ParseSize(size_text, &size)) {
    std::fprintf(stderr, "dmaheap alloc: invalid size '%s' (a number with K, M or G)\n",
                 size_text.c_str());
    return 2;
  }
  // Signals that end --hold are blocked first, so one arriving early is not lost.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGTERM);
  sigaddset(&stop, SIGINT);
  if (hold) sigprocmask(SIG_BLOCK, &stop, nullptr);
  Result<std::unique_ptr<Client>> client = Client::Open();
  if (!client.ok()) {
    std::fprintf(stderr, "dmaheap alloc: no heaps: %s\n", std::strerror(client.error()));
    return 1;
  }
  SayWhichAnswered("alloc", **client, "");
  Result<UniqueFd> fd = (*client)->Allocate(heap, size);
  if (!fd.ok()) {
    if (fd.error() == ENOENT) {
      std::string names;
      for (const std::string& n : (*client)->HeapNames()) names += " " + n;
      std::fprintf(stderr, "dmaheap alloc: no heap '%s' (heaps:%s)\n", heap.c_str(),
                   names.c_str());
    } else {
      std::fprintf(stderr, "dmaheap alloc: %s: cannot allocate %s bytes: %s\n", heap.c_str(),
                   size_text.c_str(), std::strerror(fd.error()));
    }
    return 1;
  }
  struct stat st {};
  ::fstat(fd->get(), &st);
  if (json) {
    std::printf("{\"pid\": %d, \"fd\": %d, \"inode\": %" PRIu64 ", \"size\": %" PRIu64
                ", \"heap\": %s, \"backend\": %s}\n",
                ::getpid(), fd->get(), static_cast<uint64_t>(st.st_ino),
                static_cast<uint64_t>(st.st_size), JsonString(heap).c_str(),
                JsonString(BackendName((*client)->backend())).c_str());
  } else {
    std::printf("%d %d %" PRIu64 "\n", ::getpid(), fd->get(), static_cast<uint64_t>(st.st_ino));
  }
  std::fflush(stdout);
  if (!hold) return 0;
  int sig = 0;
  sigwait(&stop, &sig);
  return 0;
}

int BufinfoCommand(const ViewOptions& view) {
  std::string text;
  if (!FetchView("bufinfo", view, ControlRequest::kBufInfo, "", &text)) return 1;
  if (!view.json) {
    Print(text);
    return 0;
  }
  std::vector<std::string> items;
  uint64_t bytes = 0;
  for (const BufInfoRow& r : ParseBufInfo(text)) {
    char flags[64];
    std::snprintf(flags, sizeof(flags), "\"flags\": \"%08" PRIx64 "\", \"mode\": \"%08" PRIx64
                  "\"", r.flags, r.mode);
    items.push_back("{\"size\": " + std::to_string(r.size) + ", " + flags + ", \"count\": " +
                    std::to_string(r.count) + ", \"exp_name\": " + JsonString(r.exp_name) +
                    ", \"ino\": " + std::to_string(r.ino) + ", \"name\": " + JsonString(r.name) +
                    "}");
    bytes += r.size;
  }
  Print("{\"buffers\": " + JsonArray(items) + ", \"total_objects\": " +
        std::to_string(items.size()) + ", \"total_bytes\": " + std::to_string(bytes) + "}\n");
  return 0;
}

int DumpCommand(pid_t pid, bool all, bool per_buffer, bool json) {
  if ((all || per_buffer) && pid != 0) {
    std::fprintf(stderr, "dmaheap dump: -a and -b take no PID\n");
    return 2;
  }
  if (pid != 0 && ::kill(pid, 0) != 0 && errno == ESRCH) {
    std::fprintf(stderr, "dmaheap dump: no process %d\n", pid);
    return 1;
  }
  // The exporter's view (names, totals) when a daemon answers; /proc alone otherwise.
  Result<std::vector<BufInfoRow>> exporter = ExporterBufInfo();
  const bool have_exporter = exporter.ok();
  const std::vector<BufInfoRow> exported = have_exporter ? *exporter : std::vector<BufInfoRow>();
  if (per_buffer) {
    if (!have_exporter) {
      std::fprintf(stderr, "dmaheap dump -b: needs the exporter's bufinfo (no daemon reachable, "
                   "no readable kernel debugfs)\n");
      return 1;
    }
    std::map<std::string, std::pair<uint64_t, uint64_t>> by_exporter;
    uint64_t bytes = 0;
    std::printf("\n\nDMA-BUF per-buffer stats:\n");
    std::printf("%20s %20s %20s\n", "Dmabuf Inode |", "Size(bytes) |", "Exporter Name |");
    for (const BufInfoRow& r : exported) {
      std::printf("%18" PRIu64 " |%18" PRIu64 " |%18s |\n", r.ino, r.size, r.exp_name.c_str());
      by_exporter[r.exp_name].first += 1;
      by_exporter[r.exp_name].second += r.size;
      bytes += r.size;
    }
    std::printf("\n\nDMA-BUF exporter stats:\n");
    std::printf("%20s %20s %20s\n", "Exporter Name |", "Total Count |", "Total Size(bytes) |");
    for (const auto& [name, s] : by_exporter)
      std::printf("%18s |%18" PRIu64 " |%18" PRIu64 " |\n", name.c_str(), s.first, s.second);
    std::printf("\n\nDMA-BUF total stats:\n");
    std::printf("Total DMA-BUF count: %zu, Total DMA-BUF size(bytes): %" PRIu64 "\n",
                exported.size(), bytes);
    return 0;
  }
  Print(DumpView(pid, json ? DumpFormat::kJson : all ? DumpFormat::kTable : DumpFormat::kPerProcess,
                 exported));
  return 0;
}

int LsmodCommand(const ViewOptions& view, bool proc_modules) {
  std::string text;
  if (!FetchView("lsmod", view, ControlRequest::kLsmod, "", &text)) return 1;
  if (proc_modules) {
    Print(text);
    return 0;
  }
  if (!view.json) {
    // kmod's lsmod: its header, "%-19s %8ld  %d" (name, size, use count), then the holders —
    // the modules using this one, /proc/modules' deps without the "[permanent]" mark, which
    // kmod does not show.
    std::string out = "Module                  Size  Used by\n";
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
      std::vector<std::string> f = SplitFields(line, ' ');
      if (f.size() != 6) continue;
      char row[160];
      std::snprintf(row, sizeof(row), "%-19s %8ld  %d", f[0].c_str(), std::atol(f[1].c_str()),
                    std::atoi(f[2].c_str()));
      out += row;
      bool first = true;
      for (const std::string& d : SplitFields(f[3], ',')) {
        if (d.empty() || d == "-" || d == "[permanent]") continue;
        out += (first ? " " : ",") + d;
        first = false;
      }
      out += "\n";
    }
    Print(out);
    return 0;
  }
  // "name size refcount deps state address", deps "-" or "a,b," with "[permanent]," first.
  std::vector<std::string> items;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    std::vector<std::string> f = SplitFields(line, ' ');
    if (f.size() != 6) continue;
    std::vector<std::string> deps;
    bool permanent = false;
    for (const std::string& d : SplitFields(f[3], ',')) {
      if (d == "[permanent]") {
        permanent = true;
      } else if (!d.empty() && d != "-") {
        deps.push_back(JsonString(d));
      }
    }
    items.push_back("{\"name\": " + JsonString(f[0]) + ", \"size\": " + f[1] +
                    ", \"refcount\": " + f[2] + ", \"deps\": " + JsonArray(deps) +
                    ", \"permanent\": " + (permanent ? "true" : "false") + ", \"state\": " +
                    JsonString(f[4]) + ", \"address\": " + JsonString(f[5]) + "}");
  }
  Print("{\"modules\": " + JsonArray(items) + "}\n");
  return 0;
}

int ModinfoCommand(const std::string& name, const ViewOptions& view, const std::string& field,
                   bool nul) {
  std::string text;
  if (!FetchView("modinfo", view, ControlRequest::kModinfo, name, &text)) return 1;
  // kmod's -F FIELD (that field's values only, one a line) and -0 (NUL ends each instead).
  const char end = nul ? '\0' : '\n';
  std::string out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    if (field.empty()) {
      out += line + end;
      continue;
    }
    const size_t colon = line.find(':');
    if (colon == std::string::npos || line.compare(0, colon, field) != 0) continue;
    const size_t value = line.find_first_not_of(' ', colon + 1);
    out += (value == std::string::npos ? std::string() : line.substr(value)) + end;
  }
  std::fwrite(out.data(), 1, out.size(), stdout);
  return 0;
}

int CmaCommand(const ViewOptions& view, bool bitmap, const std::string& svg) {
  std::string text;
  std::string options = bitmap ? "bitmap" : "";
  if (!svg.empty()) options += " owners";
  if (!FetchView("cma", view, ControlRequest::kCma, options, &text)) return 1;
  if (!svg.empty()) {
    std::ofstream out(svg);
    out << CmaSvg("CMA areas" + (view.board.empty() ? std::string() : " of " + view.board),
                  CmaPicturesFromView(text));
    if (!out) {
      std::fprintf(stderr, "dmaheap cma: --svg %s: %s\n", svg.c_str(), std::strerror(errno));
      return 1;
    }
    // The owners' lines were for the picture; the text stays the kernel's debugfs view.
    std::string kept;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) {
      if (line.find("/range: ") == std::string::npos) kept += line + "\n";
    }
    text = kept;
  }
  if (!view.json) {
    Print(text);
    return 0;
  }
  // "NAME/key: value" lines, in area order.
  std::vector<std::pair<std::string, std::vector<std::string>>> areas;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    const size_t slash = line.find('/'), colon = line.find(": ", slash);
    if (slash == std::string::npos || colon == std::string::npos) continue;
    const std::string name = line.substr(0, slash), key = line.substr(slash + 1, colon - slash - 1);
    std::string value = line.substr(colon + 2);
    if (areas.empty() || areas.back().first != name) {
      areas.push_back({name, {"\"name\": " + JsonString(name)}});
    }
    if (key == "map") {
      value = JsonString(value.substr(1, value.find(']') - 1));
    } else if (key == "bitmap") {  // "w0 w1 ..." → [w0, w1, ...]
      std::string words;
      for (const std::string& w : SplitFields(value, ' ')) words += (words.empty() ? "" : ", ") + w;
      value = "[" + words + "]";
    }
    areas.back().second.push_back(JsonString(key) + ": " + value);
  }
  std::vector<std::string> items;
  for (const auto& [name, fields] : areas) {
    std::string obj = "{";
    for (size_t i = 0; i < fields.size(); ++i) obj += (i ? ", " : "") + fields[i];
    items.push_back(obj + "}");
  }
  Print("{\"areas\": " + JsonArray(items) + "}\n");
  return 0;
}

int BoardCommand(const std::string& name_or_path) {
  Result<std::string> text = DescribeBoardByName(name_or_path);  // errors explained on stderr
  if (!text.ok()) return 1;
  Print(*text);
  return 0;
}

int DoctorCommand() {
  auto read_value = [](const char* path) {
    std::ifstream in(path);
    std::string v;
    std::getline(in, v);
    return v.empty() ? std::string("?") : v;
  };
  Result<std::unique_ptr<Client>> client = Client::Open();
  if (client.ok()) {
    const Backend b = (*client)->backend();
    std::printf("mode:        %s", BackendName(b));
    if (b == Backend::kKernel) std::printf(" (the kernel's /dev/dma_heap; dmaheap steps aside)");
    if (b == Backend::kDaemon) std::printf(" (dmaheapd in %s)", ClientHeapDir().c_str());
    if (b == Backend::kEmbedded) {
      const char* board = std::getenv("DMAHEAP_BOARD");
      std::printf(" (no kernel heaps, no daemon: a System on board '%s' in each process)",
                  board != nullptr && *board != '\0' ? board : "default");
    }
    std::string heaps;
    for (const std::string& n : (*client)->HeapNames()) heaps += " " + n;
    std::printf("\nheaps:      %s\n", heaps.c_str());
  } else {
    std::printf("mode:        none (%s)\n", std::strerror(client.error()));
  }
  struct stat st {};
  std::printf("kernel heaps: %s\n", ::stat("/sys/class/dma_heap", &st) == 0
                                        ? "yes (/sys/class/dma_heap)"
                                        : "no (/sys/class/dma_heap absent: CONFIG_DMABUF_HEAPS off)");
  std::printf("page size:   %ld\n", ::sysconf(_SC_PAGESIZE));
  // "always within_size advise [never] deny force": the bracketed one is in force.
  std::string thp = read_value("/sys/kernel/mm/transparent_hugepage/shmem_enabled");
  if (const size_t open = thp.find('['), close = thp.find(']');
      open != std::string::npos && close != std::string::npos && close > open) {
    thp = thp.substr(open + 1, close - open - 1);
  }
  std::printf("shmem THP:   %s (%s)\n", thp.c_str(),
              HostGivesHugeFolios()
                  ? "large buffers get huge folios"
                  : "buffers use 4 KiB pages: large ones fault and zero page by page");
  std::printf("inotify:     max_user_instances %s, max_user_watches %s, max_queued_events %s "
              "(each live buffer is one watch of its exporting process)\n",
              read_value("/proc/sys/fs/inotify/max_user_instances").c_str(),
              read_value("/proc/sys/fs/inotify/max_user_watches").c_str(),
              read_value("/proc/sys/fs/inotify/max_queued_events").c_str());
  rlimit nofile{};
  ::getrlimit(RLIMIT_NOFILE, &nofile);
  std::printf("open files:  soft %llu, hard %llu (one per live buffer held)\n",
              static_cast<unsigned long long>(nofile.rlim_cur),
              static_cast<unsigned long long>(nofile.rlim_max));
  std::printf("importers:   dmaheap buffers are memfds: mmap, fork, SCM_RIGHTS, /proc/PID/fd and "
              "the dma-buf ioctls work; real kernel importers (V4L2 DMABUF, DRM PRIME, EGL/Vulkan "
              "dma-buf import) cannot take them%s\n",
              client.ok() && (*client)->backend() == Backend::kKernel
                  ? " — here the kernel's heaps are used, so they can"
                  : "");
  return 0;
}

}  // namespace dmaheap
