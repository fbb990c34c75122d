// lib/genalloc.c for modules (include/dmaheap/kapi.h): a pool of chunks, each a first-fit
// bitmap with one bit per 2^min_alloc_order bytes. gen_pool_first_fit is
// bitmap_find_next_zero_area with no alignment — exactly CmaArea::Alloc with align 0, so each
// chunk is a CmaArea over "frames" of 2^min_alloc_order bytes.

#include <memory>
#include <mutex>
#include <vector>

#include "dmaheap/kapi.h"
#include "mm/cma.h"
#include "module/export.h"

struct gen_pool {
  unsigned order;
  std::mutex mu;  // guards chunks (each chunk locks its own bitmap)
  std::vector<std::unique_ptr<dmaheap::CmaArea>> chunks;
};

extern "C" {

struct gen_pool* gen_pool_create(int min_alloc_order, int /*nid*/) {
  if (min_alloc_order < 0 || min_alloc_order > 30) return nullptr;
  auto* pool = new gen_pool;
  pool->order = static_cast<unsigned>(min_alloc_order);
  return pool;
}
EXPORT_SYMBOL(gen_pool_create);

int gen_pool_add(struct gen_pool* pool, unsigned long addr, size_t size, int /*nid*/) {
  if (pool == nullptr) return -EINVAL;
  const unsigned long unit = 1UL << pool->order;
  if (size == 0 || addr % unit != 0 || size % unit != 0) return -EINVAL;
  dmaheap::Result<std::unique_ptr<dmaheap::CmaArea>> chunk =
      dmaheap::CmaArea::Create("gen_pool", addr >> pool->order, size >> pool->order, 0);
  if (!chunk.ok()) return -chunk.error();
  std::lock_guard lock(pool->mu);
  pool->chunks.push_back(std::move(chunk).value());
  return 0;
}
EXPORT_SYMBOL(gen_pool_add);

unsigned long gen_pool_alloc(struct gen_pool* pool, size_t size) {
  if (pool == nullptr || size == 0) return 0;
  const uint64_t units = (size + (size_t{1} << pool->order) - 1) >> pool->order;
  std::lock_guard lock(pool->mu);
  for (const auto& chunk : pool->chunks) {
    dmaheap::Result<uint64_t> unit = chunk->Alloc(units, 0);
    if (unit.ok()) return static_cast<unsigned long>(*unit << pool->order);
  }
  return 0;
}
EXPORT_SYMBOL(gen_pool_alloc);

void gen_pool_free(struct gen_pool* pool, unsigned long addr, size_t size) {
  if (pool == nullptr || size == 0) return;
  const uint64_t units = (size + (size_t{1} << pool->order) - 1) >> pool->order;
  std::lock_guard lock(pool->mu);
  for (const auto& chunk : pool->chunks) {
    if (chunk->Release(addr >> pool->order, units)) return;
  }
}
EXPORT_SYMBOL(gen_pool_free);

size_t gen_pool_avail(struct gen_pool* pool) {
  if (pool == nullptr) return 0;
  std::lock_guard lock(pool->mu);
  size_t avail = 0;
  for (const auto& chunk : pool->chunks) avail += (chunk->count() - chunk->used()) << pool->order;
  return avail;
}
EXPORT_SYMBOL(gen_pool_avail);

size_t gen_pool_size(struct gen_pool* pool) {
  if (pool == nullptr) return 0;
  std::lock_guard lock(pool->mu);
  size_t size = 0;
  for (const auto& chunk : pool->chunks) size += chunk->count() << pool->order;
  return size;
}
EXPORT_SYMBOL(gen_pool_size);

void gen_pool_destroy(struct gen_pool* pool) { delete pool; }
EXPORT_SYMBOL(gen_pool_destroy);

}  // extern "C"
