// lib/genalloc.c's API for modules (include/dmaheap/kapi.h), EXPORT_SYMBOL as in the kernel:
// `struct gen_pool` is a GenPool (mm/genalloc.h).

#include "base/export.h"
#include "dmaheap/kapi.h"
#include "mm/genalloc.h"

struct gen_pool {
  std::unique_ptr<dmaheap::GenPool> pool;
};

extern "C" {

struct gen_pool* gen_pool_create(int min_alloc_order, int /*nid*/) {
  dmaheap::Result<std::unique_ptr<dmaheap::GenPool>> pool =
      dmaheap::GenPool::Create(min_alloc_order);
  if (!pool.ok()) return nullptr;
  return new gen_pool{std::move(pool).value()};
}
EXPORT_SYMBOL(gen_pool_create);

int gen_pool_add(struct gen_pool* pool, unsigned long addr, size_t size, int /*nid*/) {
  if (pool == nullptr) return -EINVAL;
  return dmaheap::ToNegErrno(pool->pool->Add(addr, size));
}
EXPORT_SYMBOL(gen_pool_add);

unsigned long gen_pool_alloc(struct gen_pool* pool, size_t size) {
  if (pool == nullptr) return 0;
  dmaheap::Result<uint64_t> addr = pool->pool->Alloc(size);
  return addr.ok() ? static_cast<unsigned long>(*addr) : 0;
}
EXPORT_SYMBOL(gen_pool_alloc);

void gen_pool_free(struct gen_pool* pool, unsigned long addr, size_t size) {
  if (pool != nullptr) pool->pool->Free(addr, size);
}
EXPORT_SYMBOL(gen_pool_free);

size_t gen_pool_avail(struct gen_pool* pool) { return pool == nullptr ? 0 : pool->pool->avail(); }
EXPORT_SYMBOL(gen_pool_avail);

size_t gen_pool_size(struct gen_pool* pool) { return pool == nullptr ? 0 : pool->pool->size(); }
EXPORT_SYMBOL(gen_pool_size);

void gen_pool_destroy(struct gen_pool* pool) { delete pool; }
EXPORT_SYMBOL(gen_pool_destroy);

}  // extern "C"
