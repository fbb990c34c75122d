// ModuleImage: what the loader learns from a module file before mapping it (kernel/module's
// load_info, read with libelf): its .modinfo, its descriptor (name, init, exit) and the dynamic
// symbols it leaves undefined, each with what the loader's check needs — strong or weak,
// versioned (bound to a library such as GLIBC_2.34, left to ld.so) or not (must come from the
// core's export tables).
#ifndef DMAHEAP_SRC_MODULE_MODULE_ELF_H
#define DMAHEAP_SRC_MODULE_MODULE_ELF_H

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "dmaheap/result.h"

namespace dmaheap {

struct UndefinedSymbol {
  std::string name;
  bool weak = false;
  bool versioned = false;  // a version requirement names the library that must provide it
};

struct ModuleImage {
  std::string path;
  std::vector<std::pair<std::string, std::string>> modinfo;  // in file order
  std::string name;
  std::string init;
  std::string exit;  // empty: permanent
  std::vector<UndefinedSymbol> undefined;
  uint64_t load_size = 0;  // extent of the PT_LOAD segments (the /proc/modules size)

  // The first value of `key`, or "" when absent.
  std::string Get(const std::string& key) const;
  // Every value of `key` (import_ns may repeat).
  std::vector<std::string> GetAll(const std::string& key) const;
  bool permanent() const { return exit.empty(); }
};

// Reads `path` without mapping it for execution. Errors, each with a message on stderr naming
// the file and the problem: ENOENT / EACCES from open; ENOEXEC for a file that is not an ELF
// shared object of this machine, or whose sections cannot be read; EINVAL for a .modinfo that is
// truncated (no final NUL) or holds an entry that is not key=value, and for a missing or
// malformed module descriptor.
Result<ModuleImage> ReadModuleImage(const std::string& path);

}  // namespace dmaheap

#endif  // DMAHEAP_SRC_MODULE_MODULE_ELF_H
