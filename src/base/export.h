// EXPORT_SYMBOL and friends for the core (the kernel's __ksymtab): each use, next to the
// definition, puts a KsymEntry in the section `dmaheap_ksymtab`; the kernel API layer
// (kapi/ksymtab.h) reads them all between the linker's __start_/__stop_ symbols.
//
// The section is kept only for objects that are linked: every file with an EXPORT_SYMBOL is
// linked whole (the kapi library is a whole archive), so no export can drop out of the table.
#ifndef DMAHEAP_SRC_BASE_EXPORT_H
#define DMAHEAP_SRC_BASE_EXPORT_H

namespace dmaheap {

struct KsymEntry {
  const char* name;
  int gpl_only;    // 1: EXPORT_SYMBOL_GPL
  const char* ns;  // "" == no namespace
};

}  // namespace dmaheap

// clang-format off
#define DMAHEAP_EXPORT_SYMBOL_(sym, gpl, ns)                                        \
  __attribute__((section("dmaheap_ksymtab"), used, aligned(8)))                     \
  static const ::dmaheap::KsymEntry dmaheap_ksym_##sym = {#sym, gpl, ns}
// clang-format on

#define EXPORT_SYMBOL(sym) DMAHEAP_EXPORT_SYMBOL_(sym, 0, "")
#define EXPORT_SYMBOL_GPL(sym) DMAHEAP_EXPORT_SYMBOL_(sym, 1, "")
#define EXPORT_SYMBOL_NS(sym, ns) DMAHEAP_EXPORT_SYMBOL_(sym, 0, ns)
#define EXPORT_SYMBOL_NS_GPL(sym, ns) DMAHEAP_EXPORT_SYMBOL_(sym, 1, ns)

#endif  // DMAHEAP_SRC_BASE_EXPORT_H
