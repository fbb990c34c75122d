// ModuleRegistry: loadable heap modules of one System (kernel/module + kmod's insmod, rmmod,
// lsmod). A module is checked from its file before it is mapped (module_elf, export_table),
// mapped with dlopen(RTLD_NOW | RTLD_LOCAL), and its init called with a context that is the only
// way to register heaps. Each live buffer of its heaps holds a reference on it.
//
// Unload (rmmod): unknown → ENOENT; permanent (no exit) → EBUSY; live buffers → EWOULDBLOCK;
// otherwise exit runs, its heaps are removed and the module is unmapped.
//
// Thread-safe: mu_ serialises load and unload.
#ifndef DMAHEAP_SRC_MODULE_MODULE_H
#define DMAHEAP_SRC_MODULE_MODULE_H

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "dmaheap/result.h"
#include "module/export_table.h"

struct dmaheap_module;

namespace dmaheap {

class HeapRegistry;

struct ModuleStatus {
  std::string name;
  uint64_t size = 0;  // extent of the PT_LOAD segments
  long refcnt = 0;    // live buffers of its heaps
  bool permanent = false;
  uintptr_t address = 0;  // load base
  std::vector<std::string> heaps;
};

class ModuleRegistry {
 public:
  ModuleRegistry(HeapRegistry& heaps, ExportTable exports);
  ModuleRegistry(const ModuleRegistry&) = delete;
  ModuleRegistry& operator=(const ModuleRegistry&) = delete;
  ~ModuleRegistry();  // modules stay mapped until the System goes; exits are not run

  // insmod. Errors: those of ReadModuleImage and CheckModule; EEXIST for a module of that name
  // already loaded; ENOEXEC when dlopen or the init symbol fails; init's own errno (module
  // unmapped again, its heaps removed).
  Result<void> Insmod(const std::string& path);
  // rmmod, with the rules above; a built-in module is not a loaded one: ENOENT.
  Result<void> Rmmod(const std::string& name);

  // modprobe NAME: done if NAME is loaded or built in; else NAME.so from the module path
  // (ModulePath()) is loaded. ENOENT, with kmod's message, when there is no such module.
  Result<void> Modprobe(const std::string& name);

  // A heap module built into the core: its init runs now with a context, as a loaded module's
  // does. Built-in modules are permanent and not listed (as lsmod does not list them).
  Result<void> InitBuiltin(const std::string& name, int (*init)(dmaheap_module*));

  // modinfo NAME|PATH in kmod's format ("filename:", then each .modinfo key); for a built-in
  // module "filename: (builtin)". ENOENT for an unknown name.
  Result<std::string> Modinfo(const std::string& name_or_path) const;

  // Where modprobe looks: $DMAHEAP_MODULE_PATH (colon-separated), then "dmaheap/modules" beside
  // libdmaheap.so (so a build tree and any install prefix work without configuration).
  static std::vector<std::string> ModulePath();

  std::vector<ModuleStatus> List() const;
  // The /proc/modules text: "name size refcnt deps state address", deps "[permanent]," or "-".
  std::string ProcModules() const;

 private:
  struct Module;
  HeapRegistry& heaps_;
  const ExportTable exports_;
  Result<void> InitLocked(Module& m, int (*init)(dmaheap_module*));  // requires mu_
  Result<std::string> FindModuleFile(const std::string& name) const;

  mutable std::mutex mu_;
  std::vector<std::unique_ptr<Module>> modules_;  // guarded by mu_; loaded and built-in
};

}  // namespace dmaheap

#endif  // DMAHEAP_SRC_MODULE_MODULE_H
