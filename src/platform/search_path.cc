#include "platform/search_path.h"

#include <dlfcn.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <string_view>

#ifndef DMAHEAP_BIN_TO_LIB
#define DMAHEAP_BIN_TO_LIB "../lib"  // the install's path from bindir to libdir
#endif

namespace dmaheap {
namespace {

std::string DirOf(const std::string& path) {
  const size_t slash = path.rfind('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

// The real path of `path`, or "" when it does not exist.
std::string RealPath(const std::string& path) {
  char real[PATH_MAX];
  if (::realpath(path.c_str(), real) == nullptr) return {};
  return real;
}

bool IsSharedObject(std::string_view path) {
  const std::string_view name = path.substr(path.rfind('/') + 1);
  return name.find(".so") != std::string_view::npos;
}

}  // namespace

std::string ProgramDir() {
  const std::string exe = RealPath("/proc/self/exe");
  return exe.empty() ? "." : DirOf(exe);
}

std::vector<std::string> CoreLibDirs() {
  std::vector<std::string> out;
  auto add = [&out](const std::string& dir) {
    const std::string real = RealPath(dir);
    if (real.empty()) return;
    for (const std::string& d : out) {
      if (d == real) return;
    }
    out.push_back(real);
  };
  Dl_info where{};
  if (::dladdr(reinterpret_cast<void*>(&CoreLibDirs), &where) != 0 && where.dli_fname != nullptr &&
      IsSharedObject(where.dli_fname)) {
    add(DirOf(where.dli_fname));  // libdmaheap.so (or the shim) in the library directory
  } else {
    const std::string bin = ProgramDir();
    add(bin + "/" + DMAHEAP_BIN_TO_LIB);
    add(bin + "/../lib");
  }
  return out;
}

std::vector<std::string> SearchPath(const char* env, const char* beside_library) {
  std::vector<std::string> out;
  if (const char* value = std::getenv(env); value != nullptr) {
    std::string_view rest(value);
    while (!rest.empty()) {
      const size_t colon = rest.find(':');
      std::string_view dir = rest.substr(0, colon);
      if (!dir.empty()) out.emplace_back(dir);
      if (colon == std::string_view::npos) break;
      rest.remove_prefix(colon + 1);
    }
  }
  for (const std::string& lib : CoreLibDirs()) out.push_back(lib + "/" + beside_library);
  return out;
}

std::string FindInPath(const std::vector<std::string>& dirs, const std::string& file) {
  for (const std::string& dir : dirs) {
    std::string path = dir + "/" + file;
    if (::access(path.c_str(), R_OK) == 0) return path;
  }
  return {};
}

}  // namespace dmaheap
