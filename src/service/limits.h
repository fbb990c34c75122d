// The daemon's allocation limits (the answer to "dma-bufs escape memory control"): every buffer
// is charged to the uid that allocated it and to its heap, and an ALLOC that would take a uid
// past --uid-limit, or a heap past its --heap-limit, fails with ENOMEM — counted per uid and per
// heap, and logged once per uid naming the limit. Root is limited like any uid.
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
  uint64_t uid_bytes = 0;                      // --uid-limit; 0: none
  std::map<std::string, uint64_t> heap_bytes;  // --heap-limit NAME=SIZE
};

// A size as the kernel's memparse reads it ("256M", "1G", "0x100000"), whole: EINVAL with a
// message naming `option` and the text otherwise, and for 0 (a limit of nothing is a typo).
Result<uint64_t> ParseLimitSize(const std::string& option, const std::string& text);
// "NAME=SIZE" of --heap-limit.
Result<std::pair<std::string, uint64_t>> ParseHeapLimit(const std::string& text);

class AllocLimits final : public AllocAdmission {
 public:
  AllocLimits(LimitConfig config, const BufferTable& buffers)
      : config_(std::move(config)), buffers_(buffers) {}

  Result<void> Admit(const DmaHeap& heap, const Owner& owner, uint64_t len) override;

  // Stats lines: "uid U buffers N bytes B limit L denied D" for every uid holding buffers or
  // refused one (limit 0: none), then "limit heap NAME bytes L denied D" per limited heap.
  std::string StatsText() const;

 private:
  void LogOnce(uid_t uid, const char* fmt, ...) __attribute__((format(printf, 3, 4)));

  const LimitConfig config_;
  const BufferTable& buffers_;
  std::map<uid_t, uint64_t> denied_;              // refusals by uid
  std::map<std::string, uint64_t> heap_denied_;   // refusals by heap limit
  std::set<uid_t> logged_;
};

}  // namespace dmaheap

#endif  // DMAHEAP_SRC_SERVICE_LIMITS_H
