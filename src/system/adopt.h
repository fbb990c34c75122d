// Re-adoption: a daemon started after a crash takes back every buffer of its predecessor that
// still has a holder, so none is lost and none of their pages is handed out twice.
//
// The holders are found in /proc: a buffer fd (/proc/PID/fd/N) or, for a buffer held only by
// a mapping, /proc/PID/map_files/RANGE — whose links only a process with CAP_SYS_ADMIN (or
// CAP_CHECKPOINT_RESTORE) may follow; an unprivileged daemon sees the fds of processes of its
// own uid and no mapping-only holder. A holder is the buffer's when its link is the memfd the
// record names (/memfd:dmaheap:<heap>:<id>) and its inode is the record's.
//
// A live buffer's pages are claimed back exactly (the buddy allocator's frames, a CMA area's
// bits, or for a carveout the granules of the one pool the heap module made over its reserved
// region), it is registered under its old id, owner and name, and its inode watched again; the
// heap counts it live. Its ops are the heap modules' own (include/dmaheap/heap_buffer.h) but
// for its release, which gives the claimed pages back.
#ifndef DMAHEAP_SRC_SYSTEM_ADOPT_H
#define DMAHEAP_SRC_SYSTEM_ADOPT_H

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "system/buffer_log.h"

namespace dmaheap {

class SystemCore;

// Where each wanted inode is held: (dev, ino) → a path naming it, and the memfd name its link
// shows. Scans every /proc/PID/fd and /proc/PID/map_files it may read, its own process's aside.
struct Holder {
  std::string path;
  std::string link;
};
std::map<std::pair<uint64_t, uint64_t>, Holder> FindHolders(
    const std::vector<std::pair<uint64_t, uint64_t>>& wanted);

struct AdoptReport {
  std::vector<uint64_t> adopted;   // ids
  size_t gone = 0;                 // released before the restart: their records dropped
  std::vector<std::string> notes;  // one line per buffer not adopted, and why
};

AdoptReport AdoptBuffers(SystemCore& core, const std::map<uint64_t, BufferRecord>& records);

}  // namespace dmaheap

#endif  // DMAHEAP_SRC_SYSTEM_ADOPT_H
