#include "module/module.h"

#include <dlfcn.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include "base/check.h"
#include "dmaheap/vermagic.h"
#include "heap/dma_heap.h"
#include "kapi/module_context.h"
#include "module/module_elf.h"
#include "platform/search_path.h"

namespace dmaheap {

// One loaded (or built-in) module and the context its init registers heaps through.
struct ModuleRegistry::Module final : public ModuleContext {
  Module(HeapRegistry& registry) : heap_registry(registry) {}

  Result<DmaHeap*> AddHeap(DmaHeapExportInfo info, std::unique_ptr<DmaHeapOps> heap_ops) override {
    info.owner = &owner;
    DmaHeap* heap = TRY(heap_registry.Add(info));  // the kernel's checks and messages
    heaps.push_back(heap);
    if (heap_ops != nullptr) ops.push_back(std::move(heap_ops));
    return heap;
  }
  HeapContext& heap_context() override { return heap_registry.context(); }

  HeapRegistry& heap_registry;
  ModuleImage image;
  bool builtin = false;
  void* handle = nullptr;
  uintptr_t base = 0;
  HeapOwner owner;
  std::vector<DmaHeap*> heaps;
  std::vector<std::unique_ptr<DmaHeapOps>> ops;  // the heaps' ops; they outlive the heaps
  dmaheap_module context{this, false};  // kept for the module's lifetime; active during init
};

ModuleRegistry::ModuleRegistry(HeapRegistry& heaps, ExportTable exports)
    : heaps_(heaps), exports_(std::move(exports)) {}

ModuleRegistry::~ModuleRegistry() {
  // The System is going: buffers were released before this, heaps go with the registry.
  for (auto& m : modules_) {
    if (m->handle != nullptr) ::dlclose(m->handle);
  }
}

Result<void> ModuleRegistry::Insmod(const std::string& path) {
  ModuleImage image = TRY(ReadModuleImage(path));
  TRY(CheckModule(image, exports_, DMAHEAP_VERMAGIC));
  std::lock_guard lock(mu_);
  for (const auto& m : modules_) {
    if (m->image.name == image.name) {
      std::fprintf(stderr, "%s: module is already loaded\n", image.name.c_str());
      return Errno(EEXIST);
    }
  }
  auto m = std::make_unique<Module>(heaps_);
  m->image = std::move(image);
  const std::string& name = m->image.name;
  m->handle = ::dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (m->handle == nullptr) {
    std::fprintf(stderr, "%s: cannot map %s: %s\n", name.c_str(), path.c_str(), ::dlerror());
    return Errno(ENOEXEC);
  }
  using InitFn = int (*)(dmaheap_module*);
  auto init = reinterpret_cast<InitFn>(::dlsym(m->handle, m->image.init.c_str()));
  if (init == nullptr) {
    std::fprintf(stderr, "%s: init function %s is not exported\n", name.c_str(),
                 m->image.init.c_str());
    ::dlclose(m->handle);
    return Errno(ENOEXEC);
  }
  Dl_info where{};
  if (::dladdr(reinterpret_cast<void*>(init), &where) != 0)
    m->base = reinterpret_cast<uintptr_t>(where.dli_fbase);
  Result<void> initialised = InitLocked(*m, init);
  if (!initialised.ok()) {
    ::dlclose(m->handle);
    return initialised;
  }
  modules_.push_back(std::move(m));
  return {};
}

Result<void> ModuleRegistry::InitLocked(Module& m, int (*init)(dmaheap_module*)) {
  m.context.active = true;
  const int rc = init(&m.context);
  m.context.active = false;
  if (rc == 0) return {};
  const int err = rc < 0 ? -rc : EINVAL;
  std::fprintf(stderr, "%s: init failed: %s\n", m.image.name.c_str(), std::strerror(err));
  for (DmaHeap* heap : m.heaps) heaps_.Remove(heap);
  m.heaps.clear();
  return Errno(err);
}

Result<void> ModuleRegistry::InitBuiltin(const std::string& name, int (*init)(dmaheap_module*)) {
  std::lock_guard lock(mu_);
  auto m = std::make_unique<Module>(heaps_);
  m->image.name = name;
  m->image.init = name + "_init";
  m->builtin = true;
  TRY(InitLocked(*m, init));
  modules_.push_back(std::move(m));
  return {};
}

std::vector<std::string> ModuleRegistry::ModulePath() {
  return SearchPath("DMAHEAP_MODULE_PATH", "dmaheap/modules");
}

Result<std::string> ModuleRegistry::FindModuleFile(const std::string& name) const {
  if (name.empty() || name.find('/') != std::string::npos) return Errno(ENOENT);
  std::string path = FindInPath(ModulePath(), name + ".so");
  if (path.empty()) return Errno(ENOENT);
  return path;
}

Result<void> ModuleRegistry::Modprobe(const std::string& name) {
  {
    std::lock_guard lock(mu_);
    for (const auto& m : modules_) {
      if (m->image.name == name) return {};  // loaded or built in: nothing to do
    }
  }
  Result<std::string> path = FindModuleFile(name);
  if (!path.ok()) {
    std::fprintf(stderr, "modprobe: FATAL: Module %s not found.\n", name.c_str());
    return Errno(ENOENT);
  }
  return Insmod(*path);
}

Result<std::string> ModuleRegistry::Modinfo(const std::string& name_or_path) const {
  {
    std::lock_guard lock(mu_);
    for (const auto& m : modules_) {
      if (m->builtin && m->image.name == name_or_path)
        return "name:           " + m->image.name + "\nfilename:       (builtin)\n";
    }
  }
  std::string path = name_or_path;
  if (name_or_path.find('/') == std::string::npos) {
    Result<std::string> found = FindModuleFile(name_or_path);
    if (!found.ok()) {
      std::fprintf(stderr, "modinfo: ERROR: Module %s not found.\n", name_or_path.c_str());
      return Errno(ENOENT);
    }
    path = *found;
  }
  ModuleImage image = TRY(ReadModuleImage(path));
  // kmod prints the file's canonical path, then the .modinfo fields, `depends` among them: the
  // modules whose exports this one uses — none here, as heap modules link against the core only
  // (modpost writes an empty "depends=" for such a module).
  char canonical[PATH_MAX];
  if (::realpath(path.c_str(), canonical) != nullptr) path = canonical;
  std::string out = "filename:       " + path + "\n";
  bool depends = false;
  for (const auto& [key, value] : image.modinfo) {
    std::string label = key + ":";
    label.resize(std::max<size_t>(label.size() + 1, 16), ' ');
    out += label + value + "\n";
    depends |= key == "depends";
  }
  if (!depends) out += "depends:        \n";
  out += std::string("permanent:      ") + (image.permanent() ? "yes" : "no") + "\n";
  return out;
}

Result<void> ModuleRegistry::Rmmod(const std::string& name) {
  std::lock_guard lock(mu_);
  auto it = std::find_if(modules_.begin(), modules_.end(),
                         [&](const auto& m) { return m->image.name == name; });
  if (it == modules_.end() || (*it)->builtin) return Errno(ENOENT);
  Module& m = **it;
  if (m.image.permanent()) return Errno(EBUSY);  // init without exit: can never go
  if (m.owner.refs.load() != 0) return Errno(EWOULDBLOCK);
  using ExitFn = void (*)();
  if (auto exit = reinterpret_cast<ExitFn>(::dlsym(m.handle, m.image.exit.c_str())))
    exit();
  for (DmaHeap* heap : m.heaps) heaps_.Remove(heap);
  ::dlclose(m.handle);
  modules_.erase(it);
  return {};
}

std::vector<ModuleStatus> ModuleRegistry::List() const {
  std::lock_guard lock(mu_);
  std::vector<ModuleStatus> out;
  for (const auto& m : modules_) {
    if (m->builtin) continue;  // lsmod lists loaded modules only
    ModuleStatus s;
    s.name = m->image.name;
    s.size = m->image.load_size;
    s.refcnt = m->owner.refs.load();
    s.permanent = m->image.permanent();
    s.address = m->base;
    for (DmaHeap* heap : m->heaps) s.heaps.push_back(heap->name());
    out.push_back(std::move(s));
  }
  return out;
}

std::string ModuleRegistry::ProcModules() const {
  std::string out;
  char line[512];
  for (const ModuleStatus& s : List()) {
    std::snprintf(line, sizeof(line), "%s %" PRIu64 " %ld %s Live 0x%016" PRIxPTR "\n",
                  s.name.c_str(), s.size, s.refcnt, s.permanent ? "[permanent]," : "-", s.address);
    out += line;
  }
  return out;
}

}  // namespace dmaheap
