// What the dmaheap tool shows, fetched from wherever it lives: the running daemon's control
// socket, else the kernel's own files (debugfs bufinfo and cma, /proc/modules) where the kernel
// has heaps, else a System booted in this process from a board. Also the pieces of the tool's
// other views that need the core: a board's description, the /proc scan behind `dump`, and
// what `doctor` reports of the host.
#ifndef DMAHEAP_SRC_CLIENT_VIEWS_H
#define DMAHEAP_SRC_CLIENT_VIEWS_H

#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "client/control.h"
#include "dmaheap/result.h"

namespace dmaheap {

class SystemCore;

struct ViewOptions {
  bool json = false;
  std::string board;         // "": $DMAHEAP_BOARD or "default"
  bool board_given = false;  // --board: that board booted here, never the daemon
};

// view.board, else $DMAHEAP_BOARD, else "default".
std::string ViewBoard(const ViewOptions& view);

class ViewSource {
 public:
  ~ViewSource();
  // The daemon (unless a board was given), else the kernel's files, else the board booted here
  // (with a note on stderr saying so, unless JSON was asked for). Errors, each explained on
  // stderr naming `what`: EACCES for a control socket that is root's (never a reason to show a
  // different System); the board's errors.
  static Result<std::unique_ptr<ViewSource>> Open(const char* what, const ViewOptions& view);

  // The file a kernel-mode view reads ("" otherwise), for messages.
  std::string Where(ControlRequest request) const;
  // The text of one view. EOPNOTSUPP for what this source does not answer.
  Result<std::string> Request(ControlRequest request, const std::string& arg = {});

 private:
  ViewSource() = default;
  std::unique_ptr<ControlConnection> control_;  // the daemon, or
  bool kernel_files_ = false;                   // the kernel's files, or
  std::unique_ptr<SystemCore> core_;            // a System booted here
};

// The text of one view, or false after saying why on stderr ("dmaheap WHAT: ...").
bool FetchView(const char* what, const ViewOptions& view, ControlRequest request,
               const std::string& arg, std::string* text);

// `line` cut at each `sep` (the views' text formats are fields separated by one character).
std::vector<std::string> SplitFields(const std::string& line, char sep);

// One row of bufinfo's text ("size flags mode count exp_name ino name", tab-separated).
struct BufInfoRow {
  uint64_t size = 0, flags = 0, mode = 0, count = 0, ino = 0;
  std::string exp_name, name;  // name "" for <none>
};
std::vector<BufInfoRow> ParseBufInfo(const std::string& text);

// The exporters' bufinfo for `dump`: the daemon's, else the kernel's debugfs where the kernel
// has heaps. ENOENT when neither answers.
Result<std::vector<BufInfoRow>> ExporterBufInfo();

enum class DumpFormat { kPerProcess, kTable, kJson };
// dmabuf_dump's views of who holds which buffers (every process, or only `pid` when not 0),
// from /proc, with names and totals from `exported`.
std::string DumpView(pid_t pid, DumpFormat format, const std::vector<BufInfoRow>& exported);

// `dmaheap board NAME|FILE`: what a board declares, placed. Errors are explained on stderr.
Result<std::string> DescribeBoardByName(const std::string& name_or_path);

// A size as typed on a command line (ParseStrictSize: decimal, one K/M/G/T suffix, no overflow).
bool ParseSize(const std::string& text, uint64_t* size);

// For `doctor`: the daemon heap directory clients look at ("" when none can be derived), and
// whether this host gives large buffers huge folios (shmem THP advise/within_size/always).
std::string ClientHeapDir();
bool HostGivesHugeFolios();

}  // namespace dmaheap

#endif  // DMAHEAP_SRC_CLIENT_VIEWS_H
