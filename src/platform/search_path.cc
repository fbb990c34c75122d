#include "platform/search_path.h"

#include <dlfcn.h>
#include <unistd.h>

#include <cstdlib>
#include <string_view>

namespace dmaheap {

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
  Dl_info where{};
  if (::dladdr(reinterpret_cast<void*>(&SearchPath), &where) != 0 && where.dli_fname != nullptr) {
    std::string lib = where.dli_fname;
    out.push_back(lib.substr(0, lib.rfind('/') + 1) + beside_library);
  }
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
