#include "kapi/ksymtab.h"

#include "base/export.h"

namespace dmaheap {

// The linker bounds the section with these when at least one entry is linked.
extern "C" const KsymEntry __start_dmaheap_ksymtab[];  // NOLINT(bugprone-reserved-identifier)
extern "C" const KsymEntry __stop_dmaheap_ksymtab[];   // NOLINT(bugprone-reserved-identifier)

const KernelSymbol* ExportTable::Find(std::string_view name) const {
  for (const KernelSymbol& s : symbols_) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

ExportTable CoreExportTable() {
  ExportTable table;
  for (const KsymEntry* e = __start_dmaheap_ksymtab; e < __stop_dmaheap_ksymtab; ++e) {
    table.Add(KernelSymbol{e->name, e->gpl_only != 0 ? ExportClass::kGplOnly : ExportClass::kPlain,
                           e->ns});
  }
  return table;
}

}  // namespace dmaheap
