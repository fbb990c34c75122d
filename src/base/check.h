// DMAHEAP_DCHECK: internal invariants, checked in debug builds after every state change of an
// allocator structure (CONVENTIONS R18). Caller mistakes are never DCHECKed: they get an errno.
#ifndef DMAHEAP_SRC_BASE_CHECK_H
#define DMAHEAP_SRC_BASE_CHECK_H

#include <cstdio>
#include <cstdlib>

#include "dmaheap/result.h"

#define TRY DMAHEAP_TRY

#define DMAHEAP_CHECK(cond)                                                          \
  do {                                                                               \
    if (!(cond)) [[unlikely]] {                                                      \
      std::fprintf(stderr, "dmaheap: %s:%d: check failed: %s\n", __FILE__, __LINE__, \
                   #cond);                                                           \
      std::abort();                                                                  \
    }                                                                                \
  } while (0)

#ifdef NDEBUG
#define DMAHEAP_DCHECK(cond) \
  do {                       \
  } while (0)
#else
#define DMAHEAP_DCHECK(cond) DMAHEAP_CHECK(cond)
#endif

#endif  // DMAHEAP_SRC_BASE_CHECK_H
