#include "system/cma_view.h"

#include <cinttypes>
#include <cstdio>
#include <fstream>

#include "mm/reserved_mem.h"
#include "system/system_core.h"

namespace dmaheap {
namespace {

bool HasWord(std::string_view words, std::string_view word) {
  while (!words.empty()) {
    const size_t space = words.find(' ');
    if (words.substr(0, space) == word) return true;
    if (space == std::string_view::npos) break;
    words.remove_prefix(space + 1);
  }
  return false;
}

std::string CommOf(pid_t pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/comm");
  std::string comm;
  std::getline(in, comm);
  return comm.empty() ? "?" : comm;
}

}  // namespace

std::string CmaView(SystemCore& core, std::string_view options) {
  std::string out = CmaDebugfsText(core.reserved(), HasWord(options, "bitmap"));
  if (!HasWord(options, "owners")) return out;
  constexpr uint64_t kPage = 4096;
  for (const DmaBufRef& buf : core.buffers().Snapshot()) {
    const std::string comm = CommOf(buf->owner().pid);
    for (const ScatterEntry& e : buf->ops().sg_table()) {
      const uint64_t pfn = e.dma_address / kPage;
      for (const CmaRegion& region : core.reserved().cma()) {
        if (!region.area->Contains(pfn)) continue;
        char line[384];
        std::snprintf(line, sizeof(line), "%s/range: 0x%" PRIx64 " %" PRIu64 " %d %s\n",
                      region.area->name().c_str(), pfn, e.length / kPage,
                      static_cast<int>(buf->owner().pid), comm.c_str());
        out += line;
      }
    }
  }
  return out;
}

}  // namespace dmaheap
