#include "client/views.h"

#include <dirent.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "base/check.h"
#include "board/board.h"
#include "dmabuf/dmabuf_info.h"
#include "dmaheap/client.h"
#include "dmaheap/dmaheap.h"
#include "ipc/paths.h"
#include "mm/contiguous.h"
#include "mm/reserved_mem.h"
#include "platform/sys.h"
#include "system/cma_view.h"
#include "system/system_core.h"

namespace dmaheap {
namespace {

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
      std::string words;          // one line, single spaces
      std::istringstream in(*value);
      for (std::string w; in >> w;) words += (words.empty() ? "" : " ") + w;
      out += area + "/" + key + ": " + words + "\n";
    }
  }
  return out;
}

}  // namespace

std::vector<std::string> SplitFields(const std::string& line, char sep) {
  std::vector<std::string> out;
  std::string field;
  std::istringstream in(line);
  while (std::getline(in, field, sep)) out.push_back(field);
  return out;
}

std::string ViewBoard(const ViewOptions& view) {
  if (!view.board.empty()) return view.board;
  const char* env = std::getenv("DMAHEAP_BOARD");
  return env != nullptr && *env != '\0' ? env : "default";
}

ViewSource::~ViewSource() = default;

Result<std::unique_ptr<ViewSource>> ViewSource::Open(const char* what, const ViewOptions& view) {
  auto source = std::unique_ptr<ViewSource>(new ViewSource());
  if (!view.board_given) {
    std::string path;
    Result<ControlConnection> control = ControlConnection::Open(&path);
    if (control.ok()) {
      source->control_ = std::make_unique<ControlConnection>(std::move(control).value());
      return source;
    }
    if (control.error() == EACCES || control.error() == EPERM) {
      std::fprintf(stderr,
                   "dmaheap %s: permission denied: the daemon's control socket %s is "
                   "root's (run as root)\n",
                   what, path.c_str());
      return Errno(EACCES);
    }
    if (KernelHasHeaps()) {
      source->kernel_files_ = true;
      return source;
    }
    if (!view.json) {
      std::fprintf(stderr,
                   "dmaheap %s: no daemon running (%s); showing board '%s' booted "
                   "here\n",
                   what, path.empty() ? "no control socket path" : path.c_str(),
                   ViewBoard(view).c_str());
    }
  }
  const std::string board = ViewBoard(view);
  Result<SystemConfig> config = SystemCore::ConfigForBoard(board);  // prints why not
  if (!config.ok()) {
    std::fprintf(stderr, "dmaheap %s: no daemon and no usable board '%s'\n", what, board.c_str());
    return Errno(config.error());
  }
  Result<std::unique_ptr<SystemCore>> core = SystemCore::Boot(*config);
  if (!core.ok()) {
    std::fprintf(stderr, "dmaheap %s: board '%s' does not boot: %s\n", what, board.c_str(),
                 std::strerror(core.error()));
    return Errno(core.error());
  }
  source->core_ = std::move(core).value();
  return source;
}

std::string ViewSource::Where(ControlRequest request) const {
  if (!kernel_files_) return {};
  switch (request) {
    case ControlRequest::kBufInfo:
      return Debugfs() + "/dma_buf/bufinfo";
    case ControlRequest::kLsmod:
      return "/proc/modules";
    case ControlRequest::kCma:
      return Debugfs() + "/cma";
    default:
      return "the kernel";
  }
}

Result<std::string> ViewSource::Request(ControlRequest request, const std::string& arg) {
  if (control_ != nullptr) return control_->Request(request, arg);
  if (kernel_files_) {
    switch (request) {
      case ControlRequest::kBufInfo:
      case ControlRequest::kLsmod:
        return ReadWholeFile(Where(request));
      case ControlRequest::kCma:
        return KernelCmaText(arg == "bitmap");
      default:
        return Errno(EOPNOTSUPP);  // the kernel's own tools answer the rest
    }
  }
  switch (request) {
    case ControlRequest::kBufInfo:
      return core_->BufInfo();
    case ControlRequest::kLsmod:
      return core_->modules().ProcModules();
    case ControlRequest::kModinfo:
      return core_->modules().Modinfo(arg);
    case ControlRequest::kCma:
      return CmaView(*core_, arg);
    default:
      return Errno(EOPNOTSUPP);
  }
}

bool FetchView(const char* what, const ViewOptions& view, ControlRequest request,
               const std::string& arg, std::string* text) {
  Result<std::unique_ptr<ViewSource>> source = ViewSource::Open(what, view);
  if (!source.ok()) return false;
  Result<std::string> r = (*source)->Request(request, arg);
  if (!r.ok()) {
    const std::string where = (*source)->Where(request);
    if (!where.empty()) {
      std::fprintf(stderr, "dmaheap %s: %s: %s\n", what, where.c_str(),
                   r.error() == EOPNOTSUPP ? "not answered here: use the kernel's own tools"
                                           : std::strerror(r.error()));
    } else if (request == ControlRequest::kModinfo) {
      std::fprintf(stderr, "dmaheap modinfo: ERROR: Module %s not found.\n", arg.c_str());
    } else {
      std::fprintf(stderr, "dmaheap %s: %s\n", what, std::strerror(r.error()));
    }
    return false;
  }
  *text = std::move(r).value();
  return true;
}

std::vector<BufInfoRow> ParseBufInfo(const std::string& text) {
  std::vector<BufInfoRow> rows;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) {
    std::vector<std::string> f = SplitFields(line, '\t');
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

Result<std::vector<BufInfoRow>> ExporterBufInfo() {
  if (Result<ControlConnection> control = ControlConnection::Open(); control.ok()) {
    if (Result<std::string> text = control->Request(ControlRequest::kBufInfo); text.ok())
      return ParseBufInfo(*text);
  }
  if (KernelHasHeaps()) {  // the kernel's own bufinfo, when readable
    if (Result<std::string> text = ReadWholeFile(Debugfs() + "/dma_buf/bufinfo"); text.ok())
      return ParseBufInfo(*text);
  }
  return Errno(ENOENT);
}

std::string DumpView(pid_t pid, DumpFormat format, const std::vector<BufInfoRow>& exported) {
  DmaBufSnapshot snap = ReadProcfsDmaBufs(pid);
  uint64_t exported_bytes = 0;
  for (const BufInfoRow& r : exported) {
    exported_bytes += r.size;
    for (DmaBufferInfo& b : snap.buffers) {
      if (b.inode == r.ino && b.name.empty()) b.name = r.name;
    }
  }
  switch (format) {
    case DumpFormat::kJson:
      return DumpJson(snap);
    case DumpFormat::kTable:
      return FormatDumpTable(snap);
    case DumpFormat::kPerProcess:
      return FormatDumpPerProcess(snap, exported_bytes);
  }
  return {};
}

Result<std::string> DescribeBoardByName(const std::string& name_or_path) {
  Board board = TRY(LoadBoard(name_or_path));
  std::vector<std::string> log;
  std::vector<ReservedRegion> placed = TRY(PlaceReservedMemory(board, &log));
  TRY(PlaceSwiotlb(board, placed, &log));  // its line goes to the log
  return DescribeBoard(board, placed, log);
}

bool ParseSize(const std::string& text, uint64_t* size) { return ParseStrictSize(text, size); }

std::string ClientHeapDir() {
  Result<std::string> dir = FindDaemonDir();
  return dir.ok() ? *dir : std::string();
}

bool HostGivesHugeFolios() { return sys::ReadShmemThp() == sys::ShmemThp::kHugeAdvise; }

}  // namespace dmaheap
