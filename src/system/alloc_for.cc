#include "system/alloc_for.h"

#include <algorithm>
#include <cinttypes>
#include <cstdio>

#include "base/check.h"
#include "dmabuf/importer.h"
#include "heap/dma_heap.h"
#include "system/system_core.h"

namespace dmaheap {
namespace {

template <typename... Args>
std::string Text(const char* fmt, Args... args) {
  char buf[512];
  std::snprintf(buf, sizeof(buf), fmt, args...);
  return buf;
}

// Why `heap` cannot serve `dev` for this request without trying, or "".
std::string StaticMismatch(const DmaDevice& dev, const DmaHeap& heap, const AllocForRequest& r) {
  const DmaDeviceSpec& spec = dev.spec();
  const char* h = heap.name().c_str();
  if (spec.needs_contiguous && !spec.iommu && !heap.properties().contiguous) {
    return Text("%s has no IOMMU and imports only DMA-contiguous buffers (GEM DMA helpers); %s "
                "buffers are scattered pages",
                spec.name.c_str(), h);
  }
  if (spec.iommu) {
    const uint64_t space = std::min(dev.limit(), dev.iova()->end() - 1);
    if (r.len > space) {
      return Text("%s's IOVA space (below 0x%" PRIx64 ") cannot hold %" PRIu64 " bytes",
                  spec.name.c_str(), space, r.len);
    }
  }
  return "";
}

// Why this device takes buffers of `heap`, once it mapped one.
std::string DeviceVerdict(const DmaDevice& dev, const SgTable& segments, bool bounced) {
  const DmaDeviceSpec& spec = dev.spec();
  std::string line = "  " + spec.name + ": ";
  if (spec.iommu) {
    line += Text("behind %s: one IOVA range at 0x%" PRIx64, spec.iommu_name.c_str(),
                 segments.empty() ? 0 : segments[0].dma_address);
  } else if (bounced) {
    line += Text("no IOMMU: reaches it only through swiotlb bounces (mask 0x%" PRIx64 ")",
                 dev.limit());
  } else {
    line += Text("no IOMMU: reaches it directly (%zu segment%s below 0x%" PRIx64 ")",
                 segments.size(), segments.size() == 1 ? "" : "s", dev.limit());
  }
  if (spec.needs_contiguous) line += ", DMA-contiguous as it requires";
  line += spec.coherent ? ", coherent" : ", non-coherent (CPU access syncs)";
  return line + "\n";
}

}  // namespace

Result<AllocForResult> AllocateFor(SystemCore& core, const AllocForRequest& request,
                                   std::string* refusal) {
  TRY(core.CheckAlive());
  if (request.devices.empty()) {
    *refusal = "no device named";
    return Errno(EINVAL);
  }
  std::vector<DmaDevice*> devices;
  for (const std::string& name : request.devices) {
    DmaDevice* dev = core.FindDevice(name);
    if (dev == nullptr) {
      std::string known;
      for (const auto& d : core.devices()) known += (known.empty() ? "" : " ") + d->name();
      *refusal = "no device '" + name + "' (devices: " + (known.empty() ? "none" : known) + ")";
      return Errno(ENODEV);
    }
    devices.push_back(dev);
  }
  std::vector<DmaHeap*> heaps = core.heaps().List();
  std::stable_sort(heaps.begin(), heaps.end(), [](DmaHeap* a, DmaHeap* b) {
    auto rank = [](DmaHeap* h) {
      return (h->properties().cached ? 0 : 2) + (h->properties().contiguous ? 1 : 0);
    };
    return rank(a) != rank(b) ? rank(a) < rank(b) : a->name() < b->name();
  });
  std::string reasons;  // why each heap was passed over
  bool all_enomem = true;
  std::optional<AllocForResult> bounced;  // a heap that works only with bounces
  for (DmaHeap* heap : heaps) {
    const HeapProperties& props = heap->properties();
    std::string no;
    if (request.cpu_access && !props.cached) {
      no = heap->name() + " maps write-combined (uncached) and the CPU accesses this buffer";
    } else if (props.max_size != 0 && request.len > props.max_size) {
      no = Text("%s gives at most %" PRIu64 " bytes", heap->name().c_str(), props.max_size);
    }
    for (size_t i = 0; no.empty() && i < devices.size(); ++i)
      no = StaticMismatch(*devices[i], *heap, request);
    if (!no.empty()) {
      reasons += "  " + no + "\n";
      all_enomem = false;
      continue;
    }
    AllocRequest alloc;
    alloc.heap = heap;
    alloc.len = request.len;
    alloc.fd_flags = request.fd_flags;
    alloc.owner = request.owner;
    alloc.admission = request.admission;
    Result<Allocation> a = core.Allocate(alloc);
    if (!a.ok()) {
      if (a.error() == EINVAL) return Errno(EINVAL);  // the request itself (length, flags)
      reasons += Text("  %s: cannot allocate %" PRIu64 " bytes (errno %d)\n", heap->name().c_str(),
                      request.len, a.error());
      continue;
    }
    all_enomem = false;
    // Every device imports it, as its driver would, and lets go again.
    std::string why;
    bool any_bounce = false;
    for (DmaDevice* dev : devices) {
      const uint64_t bounces_before = dev->counters().bounces;
      Result<DmaBufAttachment*> imported =
          DmaBufImport(*a->buffer, *dev, DmaDirection::kBidirectional);
      if (!imported.ok()) {
        no = Text("%s cannot map a %s buffer (%s)", dev->name().c_str(), heap->name().c_str(),
                  imported.error() == EINVAL ? "not DMA-contiguous"
                  : imported.error() == EIO  ? "beyond its DMA limit, no swiotlb room"
                  : imported.error() == ENOMEM ? "its IOVA space is full"
                                                 : "refused");
        break;
      }
      const bool bounce = dev->counters().bounces != bounces_before;
      any_bounce = any_bounce || bounce;
      why += DeviceVerdict(*dev, (*imported)->table, bounce);
      DmaBufDetach(*a->buffer, *imported);
    }
    if (!no.empty()) {
      reasons += "  " + no + "\n";
      continue;
    }
    AllocForResult result{std::move(a).value(), heap->name(), ""};
    std::string head = Text("%s: every device maps its buffers", heap->name().c_str());
    if (request.cpu_access) head += ", and it is cached for CPU access";
    result.why = head + "\n" + why;
    if (!reasons.empty()) result.why += "passed over:\n" + reasons;
    if (!any_bounce) return result;
    if (!bounced) bounced = std::move(result);
  }
  if (bounced) return std::move(*bounced);
  *refusal = "no heap fits:\n" + reasons;
  if (!reasons.empty() && refusal->back() == '\n') refusal->pop_back();
  return Errno(all_enomem && !heaps.empty() ? ENOMEM : EINVAL);
}

}  // namespace dmaheap
