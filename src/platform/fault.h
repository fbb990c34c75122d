// DMAHEAP_FAULT: opt-in fault injection, so that a program's fallback paths (what it does when an
// ALLOC fails) can be tested against dmaheap. A comma-separated list of rules SITE:ERRNO:N/M —
// the first N of every M calls at SITE fail with ERRNO:
//   heap:NAME   an allocation from heap NAME, once the kernel's validation passed (the heap's
//               failure counter counts it)
//   memfd       creating a buffer's memfd (in the daemon, or the embedded core)
//   fallocate   committing a buffer's memory (in whichever process commits it)
// A ',' ends a rule only where the next rule starts, so heap names may hold one (linux,cma).
// ERRNO is a name: enomem, enospc, emfile, enfile, eio, eagain, eintr, ebusy.
// e.g. DMAHEAP_FAULT=heap:system:enomem:1/10,fallocate:enospc:1/1
// The variable is read at the first call; a malformed one injects nothing and says why once.
#ifndef DMAHEAP_SRC_PLATFORM_FAULT_H
#define DMAHEAP_SRC_PLATFORM_FAULT_H

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "dmaheap/result.h"

namespace dmaheap::sys {

struct FaultRule {
  std::string site;
  int err = 0;
  uint32_t n = 0, m = 1;
  std::shared_ptr<std::atomic<uint64_t>> calls = std::make_shared<std::atomic<uint64_t>>(0);
};

// Parses `text` ("" is no rule). EINVAL, with `why` naming the rule and what is wrong with it.
Result<std::vector<FaultRule>> ParseFaults(std::string_view text, std::string* why);

// Whether $DMAHEAP_FAULT holds any valid rule (cheap: callers test it before building a site).
bool FaultsEnabled();
// Whether $DMAHEAP_FAULT is absent or valid; otherwise `why` says what is wrong (for a program
// that would rather refuse to start than run without the faults it was asked for).
bool FaultsValid(std::string* why);
// The errno this call at `site` must fail with, or 0.
int InjectedFault(std::string_view site);

}  // namespace dmaheap::sys

#endif  // DMAHEAP_SRC_PLATFORM_FAULT_H
