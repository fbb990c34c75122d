// The daemon's allocation limits (the answer to "dma-bufs escape memory control"): every buffer
// is charged to the uid that allocated it and to its heap, and an ALLOC that would take a uid
// past its limits, or a heap past its --heap-limit, fails with ENOMEM — counted per uid and per
// heap, and logged once per uid naming the limit. A uid's connections are limited too.
//
// A uid's limits: --uid-limit (bytes) applies to every uid, root included. Otherwise every uid
// but root and the --exempt-uid ones gets the defaults, which keep one unprivileged user from
// denying the service to the others: at most half the modelled memory in bytes, an eighth of
// fs.inotify.max_user_watches in live buffers (each buffer is one inotify watch of the daemon's
// user, and watches are shared by every process of that user), and a sixteenth of the daemon's
// fd limit in connections.
#ifndef DMAHEAP_SRC_SERVICE_LIMITS_H
#define DMAHEAP_SRC_SERVICE_LIMITS_H

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <utility>

#include "dmaheap/result.h"
#include "heap/alloc.h"

namespace dmaheap {

class BufferTable;

struct LimitConfig {
  uint64_t uid_bytes = 0;                      // --uid-limit, every uid; 0: none
  std::map<std::string, uint64_t> heap_bytes;  // --heap-limit NAME=SIZE
  // For every uid but root and `exempt` (0: none).
  uint64_t default_bytes = 0;
  uint64_t default_buffers = 0;
  uint64_t default_connections = 0;
  std::set<uid_t> exempt;  // --exempt-uid
};

// The defaults for a daemon over `memory_bytes` of modelled memory, with `max_user_watches`
// inotify watches for its user and `fd_limit` fds.
LimitConfig DefaultLimits(uint64_t memory_bytes, uint64_t max_user_watches, uint64_t fd_limit);

// A size as ParseStrictSize reads it ("256M", "1G", "1048576"), whole: EINVAL with a
// message naming `option` and the text otherwise, and for 0 (a limit of nothing is a typo).
Result<uint64_t> ParseLimitSize(const std::string& option, const std::string& text);
// "NAME=SIZE" of --heap-limit.
Result<std::pair<std::string, uint64_t>> ParseHeapLimit(const std::string& text);

class AllocLimits final : public AllocAdmission {
 public:
  AllocLimits(LimitConfig config, const BufferTable& buffers)
      : config_(std::move(config)), buffers_(buffers) {}

  Result<void> Admit(const DmaHeap& heap, const Owner& owner, uint64_t len) override;

  // A new connection of `uid`: false (logged once per uid) past its connection limit. Each
  // accepted one is given back with Disconnected.
  bool Connect(uid_t uid);
  void Disconnected(uid_t uid);

  struct UidLimits {
    uint64_t bytes = 0, buffers = 0, connections = 0;  // 0: none
  };
  UidLimits LimitsOf(uid_t uid) const;

  // Stats lines: "uid U buffers N bytes B limit L denied D buffer_limit N connections C
  // connection_limit C refused R" for every uid holding buffers or connections or refused one
  // (a limit 0: none), then "limit heap NAME bytes L denied D" per limited heap.
  std::string StatsText() const;

 private:
  void LogOnce(uid_t uid, const char* fmt, ...) __attribute__((format(printf, 3, 4)));

  const LimitConfig config_;
  const BufferTable& buffers_;
  std::map<uid_t, uint64_t> denied_;             // refusals by uid
  std::map<uid_t, uint64_t> connections_;        // open connections by uid
  std::map<uid_t, uint64_t> refused_;            // connections refused by uid
  std::map<std::string, uint64_t> heap_denied_;  // refusals by heap limit
  std::set<uid_t> logged_;
};

}  // namespace dmaheap

#endif  // DMAHEAP_SRC_SERVICE_LIMITS_H
