// A carveout heap (ION's ion_carveout_heap.c, for parity): a heap per no-map reserved-memory
// region the board marks for one (`dmaheap,heap`; firmware regions without the mark never
// become heaps), named after its node. Each heap owns a gen_pool over its region with page
// granularity, first fit; a buffer is one contiguous range (one sg entry), zeroed (a new memfd
// is zero-filled; ION cleared the pages on free). Devices attach, map and sync as ION's buffers
// did, which is what dmaheap/heap_buffer.h does.
//
// Permanent, like the other heaps. Each heap's pool lives as long as the module is mapped: the
// pools go with the module's static storage when the last System using it unmaps it.

#include <errno.h>
#include <stdio.h>

#include <memory>
#include <mutex>
#include <vector>

#include "dmaheap/heap_buffer.h"
#include "dmaheap/kapi.h"
#include "dmaheap/module.h"

namespace {

constexpr int kPageShift = 12;

class CarveoutHeap {
 public:
  CarveoutHeap() : pool(gen_pool_create(kPageShift, -1)) {}
  CarveoutHeap(const CarveoutHeap&) = delete;
  CarveoutHeap& operator=(const CarveoutHeap&) = delete;
  ~CarveoutHeap() { gen_pool_destroy(pool); }

  gen_pool* const pool;  // null when gen_pool_create failed
};

using dmaheap_heaps::HeapBuffer;

// Its table is the one contiguous range.
struct CarveoutBuffer : HeapBuffer {
  CarveoutHeap* heap = nullptr;
};

// Every heap this module created, in any System of the process.
std::mutex g_heaps_mu;
std::vector<std::unique_ptr<CarveoutHeap>> g_heaps;  // guarded by g_heaps_mu

void CarveoutRelease(void* priv) {
  std::unique_ptr<CarveoutBuffer> b(static_cast<CarveoutBuffer*>(dmaheap_heaps::Buffer(priv)));
  gen_pool_free(b->heap->pool, b->table[0].dma_address, b->table[0].length);
}

constexpr dma_buf_ops kCarveoutBufOps = dmaheap_heaps::HeapBufOps(CarveoutRelease);

int CarveoutAllocate(dma_heap* heap, uint64_t len, uint32_t fd_flags, uint64_t /*heap_flags*/,
                     dma_buf** out) {
  auto* carveout = static_cast<CarveoutHeap*>(dma_heap_get_drvdata(heap));
  const unsigned long addr = gen_pool_alloc(carveout->pool, len);
  if (addr == 0) return -ENOMEM;  // ION_CARVEOUT_ALLOCATE_FAIL
  auto buffer = std::make_unique<CarveoutBuffer>();
  buffer->heap = carveout;
  buffer->table.push_back(dma_buf_sg_entry{addr, len});
  HeapBuffer* priv = buffer.get();
  const dma_buf_export_info info = {&kCarveoutBufOps, len, fd_flags, priv};
  const int rc = dma_buf_export(heap, &info, out);
  if (rc != 0) {
    CarveoutRelease(static_cast<HeapBuffer*>(buffer.release()));
    return rc;
  }
  (void)buffer.release();  // owned by the dma-buf now; freed by CarveoutRelease
  return 0;
}

const dma_heap_ops kCarveoutOps = {CarveoutAllocate};

// reserved_mem_for_each callback: a heap for each marked no-map region.
int AddCarveout(const reserved_mem* rmem, void* module) {
  constexpr unsigned long kWanted = RESERVED_MEM_NO_MAP | RESERVED_MEM_HEAP;
  if ((rmem->flags & kWanted) != kWanted) return 0;
  auto carveout = std::make_unique<CarveoutHeap>();
  if (carveout->pool == nullptr) return -ENOMEM;
  if (const int rc = gen_pool_add(carveout->pool, rmem->base, rmem->size, -1); rc != 0) return rc;
  const dma_heap_export_info info = {rmem->name, &kCarveoutOps, carveout.get(),
                                     DMA_HEAP_CONTIGUOUS, rmem->size};
  dma_heap* heap = nullptr;
  if (const int rc = dma_heap_add(static_cast<dmaheap_module*>(module), &info, &heap); rc != 0) {
    fprintf(stderr, "carveout_heap: %s: heap registration failed: %d\n", rmem->name, rc);
    return rc;
  }
  std::lock_guard lock(g_heaps_mu);
  g_heaps.push_back(std::move(carveout));
  return 0;
}

}  // namespace

DMAHEAP_MODULE_ENTRY int carveout_heap_init(dmaheap_module* module) {
  return reserved_mem_for_each(module, AddCarveout, module);
}

MODULE_LICENSE("GPL v2");
MODULE_DESCRIPTION("DMA-BUF carveout heap: contiguous buffers from the board's marked no-map regions");
MODULE_AUTHOR("dmaheap");
MODULE_IMPORT_NS("DMA_BUF_HEAP");
MODULE_IMPORT_NS("DMA_BUF");
DMAHEAP_PERMANENT_MODULE(carveout_heap, carveout_heap_init);
