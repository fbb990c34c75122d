#include "heap/alloc_failures.h"

namespace dmaheap {

void AllocFailureLog::Add(AllocFailure failure) {
  std::lock_guard lock(mu_);
  if (ring_.size() == kKept) ring_.pop_front();
  ring_.push_back(std::move(failure));
}

std::vector<AllocFailure> AllocFailureLog::Recent() const {
  std::lock_guard lock(mu_);
  return {ring_.begin(), ring_.end()};
}

}  // namespace dmaheap
