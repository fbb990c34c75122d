#include "module/export_table.h"

#include <algorithm>
#include <cstdio>

namespace dmaheap {

bool LicenseIsGplCompatible(std::string_view license) {
  static constexpr std::string_view kGpl[] = {"GPL",          "GPL v2",       "GPL and additional rights",
                                              "Dual BSD/GPL", "Dual MIT/GPL", "Dual MPL/GPL"};
  return std::find(std::begin(kGpl), std::end(kGpl), license) != std::end(kGpl);
}

Result<void> CheckModule(const ModuleImage& image, const ExportTable& table,
                         std::string_view core_vermagic) {
  const std::string vermagic = image.Get("vermagic");
  if (vermagic != core_vermagic) {
    std::fprintf(stderr, "%s: version magic '%s' should be '%.*s'\n", image.name.c_str(),
                 vermagic.c_str(), static_cast<int>(core_vermagic.size()), core_vermagic.data());
    return Errno(ENOEXEC);
  }
  const bool gpl_ok = LicenseIsGplCompatible(image.Get("license"));
  const std::vector<std::string> imports = image.GetAll("import_ns");
  for (const UndefinedSymbol& u : image.undefined) {
    if (u.weak || u.versioned) continue;
    const KernelSymbol* sym = table.Find(u.name);
    if (sym == nullptr || (sym->cls == ExportClass::kGplOnly && !gpl_ok)) {
      std::fprintf(stderr, "%s: Unknown symbol %s (err -2)\n", image.name.c_str(),
                   u.name.c_str());
      return Errno(ENOENT);
    }
    if (!sym->ns.empty() && std::find(imports.begin(), imports.end(), sym->ns) == imports.end()) {
      std::fprintf(stderr,
                   "%s: module uses symbol (%s) from namespace %s, but does not import it.\n",
                   image.name.c_str(), u.name.c_str(), sym->ns.c_str());
      return Errno(EINVAL);
    }
  }
  return {};
}

}  // namespace dmaheap
