// The `cma=` kernel command-line argument (kernel/dma/contiguous.c early_cma + lib/cmdline.c
// memparse): cma=nn[KMGTPE][@start[-end]]. Numbers as simple_strtoull with base 0 (0x… hex,
// 0… octal, else decimal), each suffix shifting by 10 more bits. "@start" alone makes the limit
// start + size (a fixed placement).
#ifndef DMAHEAP_SRC_MM_CONTIGUOUS_H
#define DMAHEAP_SRC_MM_CONTIGUOUS_H

#include <cstdint>
#include <string_view>

#include "dmaheap/result.h"

namespace dmaheap {

struct CmaCmdline {
  uint64_t size = 0;   // 0: no CMA area
  uint64_t base = 0;   // 0: anywhere
  uint64_t limit = 0;  // 0: no limit
};

// memparse: the value and how many characters it used (0 when no number starts `text`).
uint64_t MemParse(std::string_view text, size_t* used);

// A size as people type it on a command line or in a configuration: decimal digits and at most
// one suffix, K, M, G or T (either case; powers of 1024). False for anything else — hex, signs,
// spaces, a suffix alone, a value past 2^64 - 1. (memparse, above, is the kernel's looser rule,
// for what boards write.)
bool ParseStrictSize(std::string_view text, uint64_t* size);

// Parses the value of cma= (without "cma="). Where the kernel silently ignores what follows a
// number it understood, dmaheap refuses it: EINVAL, with a message naming the argument and the
// unexpected text, so a typo in a board never boots a different memory layout.
Result<CmaCmdline> ParseCmaArgument(std::string_view value);

}  // namespace dmaheap

#endif  // DMAHEAP_SRC_MM_CONTIGUOUS_H
