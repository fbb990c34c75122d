// The core's symbols as modules see them (the kernel's __ksymtab / __ksymtab_gpl): each
// EXPORT_SYMBOL in the kernel API layer (base/export.h) becomes one KernelSymbol, with its class
// — plain (EXPORT_SYMBOL) or GPL-only (EXPORT_SYMBOL_GPL) — and an optional namespace
// (EXPORT_SYMBOL_NS[_GPL]). The module loader checks a module's undefined symbols against it.
#ifndef DMAHEAP_SRC_KAPI_KSYMTAB_H
#define DMAHEAP_SRC_KAPI_KSYMTAB_H

#include <string>
#include <string_view>
#include <vector>

namespace dmaheap {

enum class ExportClass { kPlain, kGplOnly };

struct KernelSymbol {
  std::string name;
  ExportClass cls = ExportClass::kPlain;
  std::string ns;  // "" == no namespace
};

class ExportTable {
 public:
  void Add(KernelSymbol symbol) { symbols_.push_back(std::move(symbol)); }
  // The symbol named `name`, or null.
  const KernelSymbol* Find(std::string_view name) const;
  const std::vector<KernelSymbol>& symbols() const { return symbols_; }

 private:
  std::vector<KernelSymbol> symbols_;
};

// Every EXPORT_SYMBOL of the kernel API linked into this program.
ExportTable CoreExportTable();

}  // namespace dmaheap

#endif  // DMAHEAP_SRC_KAPI_KSYMTAB_H
