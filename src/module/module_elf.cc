#include "module/module_elf.h"

#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string_view>

#include "base/check.h"
#include "dmaheap/module.h"
#include "dmaheap/unique_fd.h"

namespace dmaheap {
namespace {

Error Refuse(const std::string& path, int err, const char* what) {
  std::fprintf(stderr, "dmaheap: %s: %s\n", path.c_str(), what);
  return Errno(err);
}

struct ElfHandle {
  Elf* elf = nullptr;
  ~ElfHandle() {
    if (elf != nullptr) elf_end(elf);
  }
};

Result<void> ParseModinfo(const std::string& path, const Elf_Data* data, ModuleImage& image) {
  if (data == nullptr || data->d_size == 0) return {};
  const auto* bytes = static_cast<const char*>(data->d_buf);
  if (bytes == nullptr) return Refuse(path, ENOEXEC, ".modinfo cannot be read");
  if (bytes[data->d_size - 1] != '\0') {
    return Refuse(path, EINVAL, ".modinfo is truncated: its last entry has no terminating NUL");
  }
  for (size_t off = 0; off < data->d_size;) {
    std::string_view entry(bytes + off);
    off += entry.size() + 1;
    if (entry.empty()) continue;  // alignment padding between entries
    const size_t eq = entry.find('=');
    if (eq == std::string_view::npos || eq == 0) {
      std::string msg = ".modinfo entry \"" + std::string(entry) + "\" is not key=value";
      return Refuse(path, EINVAL, msg.c_str());
    }
    image.modinfo.emplace_back(std::string(entry.substr(0, eq)), std::string(entry.substr(eq + 1)));
  }
  return {};
}

Result<void> ParseDescriptor(const std::string& path, const Elf_Data* data, ModuleImage& image) {
  dmaheap_module_desc desc;
  if (data == nullptr || data->d_buf == nullptr || data->d_size != sizeof(desc)) {
    return Refuse(path, EINVAL, "module descriptor (.dmaheap_module) missing or of the wrong size");
  }
  std::memcpy(&desc, data->d_buf, sizeof(desc));
  auto field = [](const char* s, size_t max) { return std::string(s, strnlen(s, max)); };
  if (desc.magic != DMAHEAP_MODULE_DESC_MAGIC || desc.version != 1 ||
      strnlen(desc.name, sizeof(desc.name)) == sizeof(desc.name) ||
      strnlen(desc.init, sizeof(desc.init)) == sizeof(desc.init) ||
      strnlen(desc.exit, sizeof(desc.exit)) == sizeof(desc.exit)) {
    return Refuse(path, EINVAL, "module descriptor is malformed");
  }
  image.name = field(desc.name, sizeof(desc.name));
  image.init = field(desc.init, sizeof(desc.init));
  image.exit = field(desc.exit, sizeof(desc.exit));
  if (image.name.empty() || image.init.empty())
    return Refuse(path, EINVAL, "module descriptor names no module or no init function");
  return {};
}

}  // namespace

std::string ModuleImage::Get(const std::string& key) const {
  for (const auto& [k, v] : modinfo) {
    if (k == key) return v;
  }
  return {};
}

std::vector<std::string> ModuleImage::GetAll(const std::string& key) const {
  std::vector<std::string> out;
  for (const auto& [k, v] : modinfo) {
    if (k == key) out.push_back(v);
  }
  return out;
}

Result<ModuleImage> ReadModuleImage(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    const int err = errno;
    std::fprintf(stderr, "dmaheap: %s: %s\n", path.c_str(), std::strerror(err));
    return Errno(err);
  }
  if (elf_version(EV_CURRENT) == EV_NONE) return Refuse(path, ENOEXEC, "libelf is unusable");
  ElfHandle h;
  h.elf = elf_begin(fd.get(), ELF_C_READ, nullptr);
  GElf_Ehdr ehdr;
  if (h.elf == nullptr || elf_kind(h.elf) != ELF_K_ELF || gelf_getehdr(h.elf, &ehdr) == nullptr)
    return Refuse(path, ENOEXEC, "not an ELF file");
  if (ehdr.e_type != ET_DYN || ehdr.e_ident[EI_CLASS] != ELFCLASS64 || ehdr.e_machine != EM_X86_64)
    return Refuse(path, ENOEXEC, "not an ELF shared object for this machine");

  ModuleImage image;
  image.path = path;
  size_t phnum = 0;
  if (elf_getphdrnum(h.elf, &phnum) != 0) return Refuse(path, ENOEXEC, "program headers unreadable");
  uint64_t lo = UINT64_MAX, hi = 0;
  for (size_t i = 0; i < phnum; ++i) {
    GElf_Phdr ph;
    if (gelf_getphdr(h.elf, static_cast<int>(i), &ph) == nullptr || ph.p_type != PT_LOAD) continue;
    lo = std::min<uint64_t>(lo, ph.p_vaddr);
    hi = std::max<uint64_t>(hi, ph.p_vaddr + ph.p_memsz);
  }
  if (hi <= lo) return Refuse(path, ENOEXEC, "no loadable segment");
  image.load_size = hi - lo;

  size_t shstrndx = 0;
  if (elf_getshdrstrndx(h.elf, &shstrndx) != 0) return Refuse(path, ENOEXEC, "section names unreadable");
  Elf_Scn* dynsym = nullptr;
  Elf_Scn* versym = nullptr;
  GElf_Shdr dynsym_hdr{};
  bool have_desc = false;
  for (Elf_Scn* scn = elf_nextscn(h.elf, nullptr); scn != nullptr; scn = elf_nextscn(h.elf, scn)) {
    GElf_Shdr sh;
    if (gelf_getshdr(scn, &sh) == nullptr) return Refuse(path, ENOEXEC, "section header unreadable");
    const char* name = elf_strptr(h.elf, shstrndx, sh.sh_name);
    if (name == nullptr) continue;
    if (std::strcmp(name, ".modinfo") == 0) {
      TRY(ParseModinfo(path, elf_getdata(scn, nullptr), image));
    } else if (std::strcmp(name, ".dmaheap_module") == 0) {
      TRY(ParseDescriptor(path, elf_getdata(scn, nullptr), image));
      have_desc = true;
    } else if (sh.sh_type == SHT_DYNSYM) {
      dynsym = scn;
      dynsym_hdr = sh;
    } else if (sh.sh_type == SHT_GNU_versym) {
      versym = scn;
    }
  }
  if (!have_desc) return Refuse(path, EINVAL, "no module descriptor (.dmaheap_module): not a module");

  if (dynsym != nullptr) {
    Elf_Data* syms = elf_getdata(dynsym, nullptr);
    Elf_Data* vers = versym != nullptr ? elf_getdata(versym, nullptr) : nullptr;
    const size_t count = dynsym_hdr.sh_entsize == 0 ? 0 : dynsym_hdr.sh_size / dynsym_hdr.sh_entsize;
    for (size_t i = 1; syms != nullptr && i < count; ++i) {
      GElf_Sym sym;
      if (gelf_getsym(syms, static_cast<int>(i), &sym) == nullptr || sym.st_shndx != SHN_UNDEF)
        continue;
      const char* name = elf_strptr(h.elf, dynsym_hdr.sh_link, sym.st_name);
      if (name == nullptr || *name == '\0') continue;
      UndefinedSymbol u;
      u.name = name;
      u.weak = GELF_ST_BIND(sym.st_info) == STB_WEAK;
      GElf_Versym v = 0;
      // Index 0 (local) and 1 (global, unversioned) carry no version requirement.
      if (vers != nullptr && gelf_getversym(vers, static_cast<int>(i), &v) != nullptr)
        u.versioned = (v & 0x7fff) > 1;
      image.undefined.push_back(std::move(u));
    }
  }
  return image;
}

}  // namespace dmaheap
