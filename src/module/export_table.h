// The core's symbols as modules see them (kernel/module's symbol tables), and the check a module
// passes before it is mapped (simplify_symbols + check_modinfo + verify_namespace).
//
// Each exported symbol has a class — plain (EXPORT_SYMBOL) or GPL-only (EXPORT_SYMBOL_GPL) — and
// an optional namespace (EXPORT_SYMBOL_NS[_GPL]). A module may use a GPL-only symbol only when
// its license is GPL-compatible, and a namespaced symbol only when it imports the namespace.
#ifndef DMAHEAP_SRC_MODULE_EXPORT_TABLE_H
#define DMAHEAP_SRC_MODULE_EXPORT_TABLE_H

#include <string>
#include <string_view>
#include <vector>

#include "dmaheap/result.h"
#include "module/module_elf.h"

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
  const KernelSymbol* Find(std::string_view name) const;

 private:
  std::vector<KernelSymbol> symbols_;
};

// The licenses the kernel's license_is_gpl_compatible() accepts.
bool LicenseIsGplCompatible(std::string_view license);

// Checks, in the kernel's order, and refuses with its errno and message (on stderr, prefixed
// with the module name):
//   vermagic differing from `core_vermagic` → ENOEXEC, "version magic 'X' should be 'Y'";
//   a strong, unversioned undefined symbol the table lacks, or a GPL-only one used by a module
//     whose license is not GPL-compatible → ENOENT, "Unknown symbol X (err -2)";
//   a namespaced symbol whose namespace the module does not import → EINVAL, "module uses
//     symbol (X) from namespace NS, but does not import it.".
// Weak and versioned undefined symbols are left to ld.so.
Result<void> CheckModule(const ModuleImage& image, const ExportTable& table,
                         std::string_view core_vermagic);

}  // namespace dmaheap

#endif  // DMAHEAP_SRC_MODULE_EXPORT_TABLE_H
