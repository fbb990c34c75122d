#include "service/control.h"

#include <cinttypes>
#include <cstdio>
#include <map>
#include <string>

#include "mm/reserved_mem.h"
#include "service/message_log.h"
#include "system/cma_view.h"
#include "system/system_core.h"

namespace dmaheap {
namespace {

ControlAnswer ModuleCommand(SystemCore& core, Op op, const std::string& arg) {
  ModuleRegistry& modules = core.modules();
  Result<void> done;
  switch (op) {
    case Op::kInsmod:
      done = modules.Insmod(arg);
      break;
    case Op::kModprobe:
      done = modules.Modprobe(arg);
      break;
    default:
      done = modules.Rmmod(arg);
      break;
  }
  if (!done.ok()) return {done.error(), {}, false};
  std::fprintf(stderr, "dmaheapd: %s %s\n", op == Op::kRmmod ? "removed" : "loaded", arg.c_str());
  return {0, {}, true};
}

}  // namespace

std::string StatsText(SystemCore& core) {
  core.Drain();
  std::string out;
  char line[256];
  PageAllocator& pages = core.pages();
  std::snprintf(line, sizeof(line), "memory total_pages %" PRIu64 " free_pages %" PRIu64 "\n",
                pages.total_pages(), pages.free_pages());
  out += line;
  out += "buddy";
  for (uint64_t n : pages.FreeBlocks()) out += " " + std::to_string(n);
  out += "\n";
  for (DmaHeap* heap : core.heaps().List()) {
    const HeapCounters& c = heap->counters();
    std::snprintf(line, sizeof(line),
                  "heap %s buffers %" PRIu64 " bytes %" PRIu64 " peak %" PRIu64
                  " allocations %" PRIu64 " failures %" PRIu64
                  " contiguous %d cached %d"
                  " max_size %" PRIu64 "\n",
                  heap->name().c_str(), c.live_buffers.load(), c.live_bytes.load(),
                  c.peak_bytes.load(), c.allocations.load(), c.failures.load(),
                  heap->properties().contiguous ? 1 : 0, heap->properties().cached ? 1 : 0,
                  heap->properties().max_size);
    out += line;
  }
  // The last allocation failures, oldest first (`dmaheap top`).
  for (const AllocFailure& f : core.failures().Recent()) {
    std::snprintf(line, sizeof(line),
                  "failure time %" PRId64 " heap %s len %" PRIu64 " pid %d uid %u errno %d\n",
                  f.when, f.heap.c_str(), f.len, static_cast<int>(f.pid),
                  static_cast<unsigned>(f.uid), f.error);
    out += line;
  }
  std::snprintf(line, sizeof(line), "swiotlb slots %" PRIu64 " used %" PRIu64 "\n",
                core.swiotlb().total_slots(), core.swiotlb().used_slots());
  out += line;
  auto dma = [&](const char* what, const std::string& name, const DmaCounters& c) {
    std::snprintf(line, sizeof(line),
                  "%s %s maps %" PRIu64 " map_errors %" PRIu64 " unmaps %" PRIu64
                  " syncs_for_cpu %" PRIu64 " syncs_for_device %" PRIu64 " bytes_synced %" PRIu64
                  " bounces %" PRIu64 " bytes_bounced %" PRIu64 "\n",
                  what, name.c_str(), c.maps, c.map_errors, c.unmaps, c.syncs_for_cpu,
                  c.syncs_for_device, c.bytes_synced, c.bounces, c.bytes_bounced);
    out += line;
  };
  for (const auto& dev : core.devices()) dma("device", dev->name(), dev->counters());
  // Live buffers a device has mapped at some time, by inode; every live buffer by the cgroup
  // of the process that allocated it.
  std::map<std::string, UidUsage> by_cgroup;
  for (const DmaBufRef& buf : core.buffers().Snapshot()) {
    if (const std::string* cgroup = buf->owner().cgroup) {
      UidUsage& u = by_cgroup[*cgroup];
      ++u.buffers;
      u.bytes += buf->size();
    }
    const DmaCounters c = buf->dma_stats().Snapshot();
    if (c.maps == 0 && c.map_errors == 0) continue;
    dma("buffer", std::to_string(static_cast<uint64_t>(buf->ino())), c);
  }
  for (const auto& [path, u] : by_cgroup) {
    out += "cgroup " + path + " buffers " + std::to_string(u.buffers) + " bytes " +
           std::to_string(u.bytes) + "\n";
  }
  return out;
}

ControlAnswer HandleControl(SystemCore& core, Op op, std::string_view arg_view) {
  const std::string arg(arg_view);
  // Every view and every module refcount is of live buffers: a close that has returned counts.
  core.Drain();
  switch (op) {
    case Op::kBarrier:
      return {};
    case Op::kStats:
      return {0, StatsText(core), false};
    case Op::kBufInfo:
      return {0, core.BufInfo(), false};
    case Op::kCma:
      return {0, CmaView(core, arg), false};
    case Op::kDmesg:
      return {0, MessageLog::Text(), false};
    case Op::kLsmod:
      return {0, core.modules().ProcModules(), false};
    case Op::kModinfo: {
      Result<std::string> text = core.modules().Modinfo(arg);
      if (!text.ok()) return {text.error(), {}, false};
      return {0, std::move(text).value(), false};
    }
    case Op::kInsmod:
    case Op::kRmmod:
    case Op::kModprobe:
      return ModuleCommand(core, op, arg);
    default:
      return {EOPNOTSUPP, {}, false};
  }
}

}  // namespace dmaheap
