// The check a module passes before it is mapped (kernel/module's simplify_symbols +
// check_modinfo + verify_namespace), against the core's export table (kapi/ksymtab.h). A module
// may use a GPL-only symbol only when its license is GPL-compatible, and a namespaced symbol only
// when it imports the namespace.
#ifndef DMAHEAP_SRC_MODULE_EXPORT_TABLE_H
#define DMAHEAP_SRC_MODULE_EXPORT_TABLE_H

#include <string>
#include <string_view>
#include <vector>

#include "dmaheap/result.h"
#include "kapi/ksymtab.h"
#include "module/module_elf.h"

namespace dmaheap {

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
