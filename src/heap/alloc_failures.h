// The last allocation failures of a System (what `dmaheap top` and `dmaheap stats` show): the
// kernel logs a failed cma_alloc or a refused page allocation to dmesg; dmaheap keeps the last
// few in a ring a reader can fetch. Thread-safe.
#ifndef DMAHEAP_SRC_HEAP_ALLOC_FAILURES_H
#define DMAHEAP_SRC_HEAP_ALLOC_FAILURES_H

#include <sys/types.h>

#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

namespace dmaheap {

struct AllocFailure {
  int64_t when = 0;  // CLOCK_REALTIME seconds
  std::string heap;
  uint64_t len = 0;  // page-aligned bytes asked for
  pid_t pid = 0;
  uid_t uid = 0;
  int error = 0;  // the errno the requester got
};

class AllocFailureLog {
 public:
  static constexpr size_t kKept = 16;
  void Add(AllocFailure failure);
  // Oldest first.
  std::vector<AllocFailure> Recent() const;

 private:
  mutable std::mutex mu_;
  std::deque<AllocFailure> ring_;  // guarded by mu_
};

}  // namespace dmaheap

#endif  // DMAHEAP_SRC_HEAP_ALLOC_FAILURES_H
