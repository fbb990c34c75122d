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

#include "base/check.h"
#include "base/json.h"
#include "board/board.h"
#include "client/transport.h"
#include "core/kernel.h"
#include "dmabuf/dmabuf_info.h"
#include "dmaheap/client.h"
#include "mm/contiguous.h"
#include "mm/reserved_mem.h"
#include "platform/sys.h"
#include "service/paths.h"

namespace dmaheap {
namespace {

std::string DefaultBoard(const ViewOptions& view) {
  if (!view.board.empty()) return view.board;
  const char* env = std::getenv("DMAHEAP_BOARD");
  return env != nullptr && *env != '\0' ? env : "default";
}

std::string Debugfs() {
  const char* env = std::getenv("DMAHEAP_DEBUGFS");  // tests point it elsewhere
  return env != nullptr && *env != '\0' ? env : "/sys/kernel/debug";
}

Result<std::string> ReadWholeFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Errno(errno != 0 ? errno : ENOENT);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// The kernel's CMA debugfs (/sys/kernel/debug/cma/<area>/…) in CmaDebugfsText's format.
Result<std::string> KernelCmaText(bool bitmap) {
  const std::string dir = Debugfs() + "/cma";
  std::vector<std::string> areas;
  if (DIR* d = ::opendir(dir.c_str())) {
    while (dirent* e = ::readdir(d)) {
      if (e->d_name[0] != '.') areas.emplace_back(e->d_name);
    }
    ::closedir(d);
  } else {
    return Errno(errno);
  }
  std::sort(areas.begin(), areas.end());
  std::string out;
  for (const std::string& area : areas) {
    for (const char* key : {"base_pfn", "count", "order_per_bit", "used", "maxchunk", "bitmap"}) {
      if (std::strcmp(key, "bitmap") == 0 && !bitmap) continue;
      Result<std::string> value = ReadWholeFile(dir + "/" + area + "/" + key);
      if (!value.ok()) continue;  // older kernels lack some files
      std::string words;  // one line, single spaces
      std::istringstream in(*value);
      for (std::string w; in >> w;) words += (words.empty() ? "" : " ") + w;
      out += area + "/" + key + ": " + words + "\n";
    }
  }
  return out;
}

// Where a view comes from: the daemon's control socket, else the kernel's own files where the
// kernel has heaps, else a System booted here.
class Source {
 public:
  // Messages name `what`. EACCES (a control socket that is not ours) is an error, not a reason
  // to show a different System.
  static Result<std::unique_ptr<Source>> Open(const char* what, const ViewOptions& view) {
    auto source = std::unique_ptr<Source>(new Source());
    if (!view.board_given) {
      Result<std::string> path = ControlSocketPath();
      Result<UniqueFd> sock = path.ok() ? ConnectSocket(*path) : Result<UniqueFd>(Errno(ENOENT));
      if (sock.ok()) {
        source->sock_ = std::move(sock).value();
        return source;
      }
      if (sock.error() == EACCES || sock.error() == EPERM) {
        std::fprintf(stderr, "dmaheap %s: permission denied: the daemon's control socket %s is "
                     "root's (run as root)\n", what, path->c_str());
        return Errno(EACCES);
      }
      if (KernelHasHeaps()) {
        source->kernel_mode_ = true;
        return source;
      }
      if (!view.json) {
        std::fprintf(stderr, "dmaheap %s: no daemon running (%s); showing board '%s' booted "
                     "here\n", what, path.ok() ? path->c_str() : "no control socket path",
                     DefaultBoard(view).c_str());
      }
    }
    const std::string board = DefaultBoard(view);
    Result<KernelConfig> config = Kernel::ConfigForBoard(board);  // prints why not
    if (!config.ok()) {
      std::fprintf(stderr, "dmaheap %s: no daemon and no usable board '%s'\n", what,
                   board.c_str());
      return Errno(config.error());
    }
    Result<std::unique_ptr<Kernel>> kernel = Kernel::Boot(*config);
    if (!kernel.ok()) {
      std::fprintf(stderr, "dmaheap %s: board '%s' does not boot: %s\n", what, board.c_str(),
                   std::strerror(kernel.error()));
      return Errno(kernel.error());
    }
    source->kernel_ = std::move(kernel).value();
    return source;
  }

  // The file a kernel-mode view reads ("" otherwise), for messages.
  std::string Where(Op op) const {
    if (!kernel_mode_) return {};
    switch (op) {
      case Op::kBufInfo: return Debugfs() + "/dma_buf/bufinfo";
      case Op::kLsmod: return "/proc/modules";
      case Op::kCma: return Debugfs() + "/cma";
      default: return "the kernel";
    }
  }

  Result<std::string> Request(Op op, const std::string& arg = {}) {
    if (kernel_mode_) {
      switch (op) {
        case Op::kBufInfo:
        case Op::kLsmod: return ReadWholeFile(Where(op));
        case Op::kCma: return KernelCmaText(arg == "bitmap");
        default: return Errno(EOPNOTSUPP);  // the kernel's own tools answer the rest
      }
    }
    if (!kernel_) {
      Reply reply = TRY(Call(sock_.get(), op, 0, arg.data(), arg.size()));
      if (reply.status != 0) return Errno(reply.status);
      return std::string(reply.data.begin(), reply.data.end());
    }
    switch (op) {
      case Op::kBufInfo: return kernel_->BufInfo();
      case Op::kLsmod: return kernel_->modules().ProcModules();
      case Op::kModinfo: return kernel_->modules().Modinfo(arg);
      case Op::kCma: return CmaDebugfsText(kernel_->reserved(), arg == "bitmap");
      default: return Errno(EOPNOTSUPP);
    }
  }

 private:
  Source() = default;
  UniqueFd sock_;                   // the daemon's control socket, or
  bool kernel_mode_ = false;        // the kernel's files, or
  std::unique_ptr<Kernel> kernel_;  // a System booted here
};

void Print(const std::string& text) { std::fwrite(text.data(), 1, text.size(), stdout); }

std::vector<std::string> Split(const std::string& line, char sep) {
  std::vector<std::string> out;
  std::string field;
  std::istringstream in(line);
  while (std::getline(in, field, sep)) out.push_back(field);
  return out;
}

struct BufInfoRow {
  uint64_t size = 0, flags = 0, mode = 0, count = 0, ino = 0;
  std::string exp_name, name;
};

// The rows of bufinfo's text ("size flags mode count exp_name ino name", tab-separated).
std::vector<BufInfoRow> ParseBufInfo(const std::string& text) {
  std::vector<BufInfoRow> rows;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    std::vector<std::string> f = Split(line, '\t');
    if (f.size() != 7 || f[0].empty() || f[0][0] < '0' || f[0][0] > '9') continue;
    BufInfoRow r;
    r.size = std::strtoull(f[0].c_str(), nullptr, 10);
    r.flags = std::strtoull(f[1].c_str(), nullptr, 16);
    r.mode = std::strtoull(f[2].c_str(), nullptr, 16);
    r.count = std::strtoull(f[3].c_str(), nullptr, 10);
    r.exp_name = f[4];
    r.ino = std::strtoull(f[5].c_str(), nullptr, 10);
    r.name = f[6] == "<none>" ? "" : f[6];
    rows.push_back(std::move(r));
  }
  return rows;
}

std::string JsonArray(const std::vector<std::string>& items) {
  std::string out = "[";
  for (size_t i = 0; i < items.size(); ++i) out += (i ? ", " : "") + items[i];
  return out + "]";
}

// The text of one view (daemon or booted board), or false after saying why on stderr.
bool FetchView(const char* what, const ViewOptions& view, Op op, const std::string& arg,
               std::string* text) {
  Result<std::unique_ptr<Source>> source = Source::Open(what, view);
  if (!source.ok()) return false;
  Result<std::string> r = (*source)->Request(op, arg);
  if (!r.ok()) {
    const std::string where = (*source)->Where(op);
    if (!where.empty()) {
      std::fprintf(stderr, "dmaheap %s: %s: %s\n", what, where.c_str(),
                   r.error() == EOPNOTSUPP ? "not answered here: use the kernel's own tools"
                                           : std::strerror(r.error()));
    } else if (op == Op::kModinfo) {
      std::fprintf(stderr, "dmaheap modinfo: ERROR: Module %s not found.\n", arg.c_str());
    } else {
      std::fprintf(stderr, "dmaheap %s: %s\n", what, std::strerror(r.error()));
    }
    return false;
  }
  *text = std::move(r).value();
  return true;
}

}  // namespace

int ControlCommand(Op op, const char* what, const std::string& arg) {
  auto path = ControlSocketPath();
  if (!path.ok()) {
    std::fprintf(stderr, "dmaheap %s: no control socket: set DMAHEAP_DIR or DMAHEAP_CONTROL\n", what);
    return 1;
  }
  auto sock = ConnectSocket(*path);
  if (!sock.ok()) {
    std::fprintf(stderr, "dmaheap %s: cannot reach the daemon at %s: %s\n", what, path->c_str(),
                 std::strerror(sock.error()));
    return 1;
  }
  auto reply = Call(sock->get(), op, 0, arg.data(), arg.size());
  if (!reply.ok() || reply->status != 0) {
    const char* err = std::strerror(reply.ok() ? reply->status : reply.error());
    if (op == Op::kRmmod) {
      std::fprintf(stderr, "dmaheap rmmod: could not remove module %s: %s\n", arg.c_str(), err);
    } else if (op == Op::kInsmod || op == Op::kModprobe) {
      std::fprintf(stderr, "dmaheap %s: could not insert module %s: %s (the daemon's log says why)\n",
                   what, arg.c_str(), err);
    } else {
      std::fprintf(stderr, "dmaheap %s: %s\n", what, err);
    }
    return 1;
  }
  Print(std::string(reply->data.begin(), reply->data.end()));
  return 0;
}

int HeapsCommand(const ViewOptions& view) {
  ClientOptions options;
  options.board = DefaultBoard(view);
  if (view.board_given) options.backend = Backend::kEmbedded;
  Result<std::unique_ptr<Client>> client = Client::Open(options);
  if (!client.ok()) {
    std::fprintf(stderr, "dmaheap heaps: no heaps to list: %s\n", std::strerror(client.error()));
    return 1;
  }
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
  size_t used = 0;
  const uint64_t size = MemParse(size_text, &used);
  if (used == 0 || used != size_text.size()) {
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
  if (!FetchView("bufinfo", view, Op::kBufInfo, "", &text)) return 1;
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
  std::vector<BufInfoRow> exported;
  bool have_exporter = false;
  if (Result<std::string> path = ControlSocketPath(); path.ok()) {
    if (Result<UniqueFd> sock = ConnectSocket(*path); sock.ok()) {
      Result<Reply> reply = Call(sock->get(), Op::kBufInfo, 0, nullptr, 0);
      if (reply.ok() && reply->status == 0) {
        exported = ParseBufInfo(std::string(reply->data.begin(), reply->data.end()));
        have_exporter = true;
      }
    }
  }
  if (!have_exporter && KernelHasHeaps()) {  // the kernel's own bufinfo, when readable
    if (Result<std::string> text = ReadWholeFile(Debugfs() + "/dma_buf/bufinfo"); text.ok()) {
      exported = ParseBufInfo(*text);
      have_exporter = true;
    }
  }
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
  DmaBufSnapshot snap = ReadProcfsDmaBufs(pid);
  uint64_t exported_bytes = 0;
  for (const BufInfoRow& r : exported) {
    exported_bytes += r.size;
    for (DmaBufferInfo& b : snap.buffers) {
      if (b.inode == r.ino && b.name.empty()) b.name = r.name;
    }
  }
  if (json) {
    Print(DumpJson(snap));
  } else {
    Print(all ? FormatDumpTable(snap) : FormatDumpPerProcess(snap, exported_bytes));
  }
  return 0;
}

int LsmodCommand(const ViewOptions& view) {
  std::string text;
  if (!FetchView("lsmod", view, Op::kLsmod, "", &text)) return 1;
  if (!view.json) {
    Print(text);
    return 0;
  }
  // "name size refcount deps state address", deps "-" or "a,b," with "[permanent]," first.
  std::vector<std::string> items;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    std::vector<std::string> f = Split(line, ' ');
    if (f.size() != 6) continue;
    std::vector<std::string> deps;
    bool permanent = false;
    for (const std::string& d : Split(f[3], ',')) {
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

int ModinfoCommand(const std::string& name, const ViewOptions& view) {
  std::string text;
  if (!FetchView("modinfo", view, Op::kModinfo, name, &text)) return 1;
  Print(text);
  return 0;
}

int CmaCommand(const ViewOptions& view, bool bitmap) {
  std::string text;
  if (!FetchView("cma", view, Op::kCma, bitmap ? "bitmap" : "", &text)) return 1;
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
      for (const std::string& w : Split(value, ' ')) words += (words.empty() ? "" : ", ") + w;
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
  auto board = LoadBoard(name_or_path);
  if (!board.ok()) return 1;
  std::vector<std::string> log;
  auto placed = PlaceReservedMemory(*board, &log);
  if (!placed.ok()) return 1;
  Print(DescribeBoard(*board, *placed, log));
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
    if (b == Backend::kDaemon) std::printf(" (dmaheapd in %s)", HeapDirPath()->c_str());
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
              sys::ReadShmemThp() == sys::ShmemThp::kHugeAdvise
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
