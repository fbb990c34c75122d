// What the daemon's control socket answers (root only, checked by ipc/request.h): text views of
// its System — stats, bufinfo, the CMA areas, /proc/modules, modinfo — the barrier, and the
// module commands insmod, rmmod and modprobe. Every answer reflects the releases already queued.
#ifndef DMAHEAP_SRC_SERVICE_CONTROL_H
#define DMAHEAP_SRC_SERVICE_CONTROL_H

#include <string>
#include <string_view>

#include "ipc/protocol.h"

namespace dmaheap {

class SystemCore;

struct ControlAnswer {
  int status = 0;              // 0 or a positive errno
  std::string text;            // the view, or "" for actions
  bool heaps_changed = false;  // a module came or went: the heap directory must follow
};

// One control request: `op` one of protocol.h's control ops, `arg` its payload (a module path
// or name, "bitmap" for kCma). EOPNOTSUPP for any other op.
ControlAnswer HandleControl(SystemCore& core, Op op, std::string_view arg);

// The `stats` text: "memory total_pages N free_pages N", "buddy" and the free blocks per order,
// then one "heap NAME buffers N bytes N peak N allocations N failures N contiguous B cached B
// max_size N" line per heap.
std::string StatsText(SystemCore& core);

}  // namespace dmaheap

#endif  // DMAHEAP_SRC_SERVICE_CONTROL_H
