#include "platform/cgroup.h"

#include <fcntl.h>
#include <unistd.h>

#include <mutex>
#include <set>

#include "dmaheap/unique_fd.h"

namespace dmaheap::sys {

std::string CgroupPathOf(std::string_view text) {
  std::string_view unified;
  bool have_unified = false;
  while (!text.empty()) {
    const size_t eol = text.find('\n');
    const std::string_view line = text.substr(0, eol);
    text = eol == std::string_view::npos ? std::string_view{} : text.substr(eol + 1);
    // "hierarchy-ID:controller-list:path"; the path may itself hold ':'.
    const size_t first = line.find(':');
    const size_t second = first == std::string_view::npos ? first : line.find(':', first + 1);
    if (second == std::string_view::npos) continue;
    const std::string_view controllers = line.substr(first + 1, second - first - 1);
    const std::string_view path = line.substr(second + 1);
    if (controllers.empty()) {
      unified = path;
      have_unified = true;
      continue;
    }
    for (size_t at = 0; at <= controllers.size();) {
      const size_t comma = controllers.find(',', at);
      const std::string_view name = controllers.substr(at, comma - at);
      if (name == "memory") return std::string(path);
      if (comma == std::string_view::npos) break;
      at = comma + 1;
    }
  }
  return have_unified ? std::string(unified) : std::string();
}

const std::string* CgroupOf(pid_t pid) {
  const std::string proc = "/proc/" + std::to_string(pid) + "/cgroup";
  UniqueFd fd(::open(proc.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return nullptr;
  std::string text;
  char buf[4096];
  for (ssize_t n; (n = ::read(fd.get(), buf, sizeof(buf))) > 0;) text.append(buf, n);
  std::string path = CgroupPathOf(text);
  return path.empty() ? nullptr : InternCgroup(std::move(path));
}

const std::string* InternCgroup(std::string path) {
  static std::mutex mu;
  static auto* interned = new std::set<std::string>;  // never freed: buffers point into it
  std::lock_guard lock(mu);
  return &*interned->insert(std::move(path)).first;
}

}  // namespace dmaheap::sys
