#include "heap/alloc.h"

#include <ctime>
#include <optional>

#include "base/check.h"
#include "dmabuf/buffer_table.h"
#include "dmaheap/uapi/linux/dma-heap.h"
#include "heap/alloc_failures.h"
#include "heap/dma_heap.h"
#include "mm/cma_trace.h"
#include "platform/fault.h"
#include "platform/sys.h"

namespace dmaheap {

Result<Allocation> DmaHeapAllocate(const AllocRequest& request) {
  if ((request.fd_flags & ~static_cast<uint32_t>(DMA_HEAP_VALID_FD_FLAGS)) != 0) {
    return Errno(EINVAL);
  }
  if ((request.heap_flags & ~DMA_HEAP_VALID_HEAP_FLAGS) != 0) return Errno(EINVAL);
  // "Allocations from all heaps have to begin and end on page boundaries." A length within
  // 4095 of 2^64 wraps to 0 here and is refused like len 0.
  const uint64_t len = (request.len + sys::kPageSize - 1) & ~uint64_t{sys::kPageSize - 1};
  if (len == 0) return Errno(EINVAL);
  if (request.name.size() >= DMA_BUF_NAME_LEN) return Errno(EINVAL);

  DmaHeap& heap = *request.heap;
  HeapCounters& counters = heap.counters();
  BufferTable& buffers = heap.context().buffers;
  buffers.ProcessReleases();
  // Every failure past validation: counted as the heap's, and kept in the last-failures ring.
  auto fail = [&](int err) {
    counters.failures.fetch_add(1, std::memory_order_relaxed);
    if (AllocFailureLog* log = heap.context().failures; log != nullptr) {
      log->Add(AllocFailure{static_cast<int64_t>(std::time(nullptr)), heap.name(), len,
                            request.owner.pid, request.owner.uid, err});
    }
    return Errno(err);
  };
  if (request.admission != nullptr) {
    if (Result<void> admitted = request.admission->Admit(heap, request.owner, len);
        !admitted.ok()) {
      return fail(admitted.error());
    }
  }
  if (sys::FaultsEnabled()) {
    if (const int err = sys::InjectedFault("heap:" + heap.name())) return fail(err);
  }
  // Trace lines of this allocation (dmaheapd --record) name the requesting process.
  std::optional<CmaTraceRecorder::ScopedTask> task;
  if (CmaTraceRecorder::Get() != nullptr) task.emplace(request.owner.pid);
  Result<DmaBufRef> buf = heap.ops().Allocate(heap, len, request.fd_flags, request.heap_flags);
  if (!buf.ok()) return fail(buf.error());
  // On failure the buffer is released with its last reference, here.
  Result<UniqueFd> fd =
      buffers.Install(*buf, InstallRequest{request.owner, request.name, request.fd_flags});
  if (!fd.ok()) return fail(fd.error());
  counters.allocations.fetch_add(1, std::memory_order_relaxed);
  return Allocation{std::move(fd).value(), std::move(buf).value()};
}

}  // namespace dmaheap
