// EXPORT_SYMBOL and friends for the core (kernel/module's __ksymtab): each use, next to the
// definition, puts an entry in the section `dmaheap_ksymtab`; CoreExportTable() reads them all
// (the linker's __start_/__stop_ symbols bound the section).
#ifndef DMAHEAP_SRC_MODULE_EXPORT_H
#define DMAHEAP_SRC_MODULE_EXPORT_H

#include "module/export_table.h"

namespace dmaheap {

struct KsymEntry {
  const char* name;
  int gpl_only;    // 1: EXPORT_SYMBOL_GPL
  const char* ns;  // "" == no namespace
};

ExportTable CoreExportTable();

}  // namespace dmaheap

#define DMAHEAP_EXPORT_SYMBOL_(sym, gpl, ns)                                               \
  __attribute__((section("dmaheap_ksymtab"), used, aligned(8))) static const ::dmaheap::KsymEntry \
      dmaheap_ksym_##sym = {#sym, gpl, ns}

#define EXPORT_SYMBOL(sym) DMAHEAP_EXPORT_SYMBOL_(sym, 0, "")
#define EXPORT_SYMBOL_GPL(sym) DMAHEAP_EXPORT_SYMBOL_(sym, 1, "")
#define EXPORT_SYMBOL_NS(sym, ns) DMAHEAP_EXPORT_SYMBOL_(sym, 0, ns)
#define EXPORT_SYMBOL_NS_GPL(sym, ns) DMAHEAP_EXPORT_SYMBOL_(sym, 1, ns)

#endif  // DMAHEAP_SRC_MODULE_EXPORT_H
