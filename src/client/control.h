// The daemon's control socket as root's tools use it: module commands and the daemon's views
// (stats, bufinfo, CMA areas, lsmod, modinfo), one request and its text answer at a time. The
// wire format stays in ipc/.
#ifndef DMAHEAP_SRC_CLIENT_CONTROL_H
#define DMAHEAP_SRC_CLIENT_CONTROL_H

#include <string>

#include "dmaheap/result.h"
#include "dmaheap/unique_fd.h"

namespace dmaheap {

enum class ControlRequest {
  kStats,     // per-heap memory and buffers (text)
  kBarrier,   // returns once the daemon's queued releases are processed
  kBufInfo,   // the bufinfo text
  kCma,       // the CMA areas, debugfs style; arg "bitmap" adds the bitmap words
  kLsmod,     // the /proc/modules text
  kModinfo,   // arg: a module name or path; kmod's modinfo text
  kInsmod,    // arg: a module path the daemon can open
  kRmmod,     // arg: a module name
  kModprobe,  // arg: a module name
  kDmesg,     // the daemon's message ring ("[seconds] line" lines)
};

class ControlConnection {
 public:
  // Connects to $DMAHEAP_CONTROL, else "<heap directory>.ctl". Errors: ENOENT (no path can be
  // derived, or no daemon), EACCES (the socket is root's), ECONNREFUSED (a dead daemon's).
  // `path`, when given, receives the path tried (also on failure), for messages.
  static Result<ControlConnection> Open(std::string* path = nullptr);

  // One request. The daemon's errno, or ENODEV when it went away.
  Result<std::string> Request(ControlRequest request, const std::string& arg = {});

 private:
  explicit ControlConnection(UniqueFd sock) : sock_(std::move(sock)) {}
  UniqueFd sock_;
};

}  // namespace dmaheap

#endif  // DMAHEAP_SRC_CLIENT_CONTROL_H
