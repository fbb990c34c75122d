#include "mm/genalloc.h"

#include "base/check.h"

namespace dmaheap {

Result<std::unique_ptr<GenPool>> GenPool::Create(int min_alloc_order) {
  if (min_alloc_order < 0 || min_alloc_order > 30) return Errno(EINVAL);
  return std::unique_ptr<GenPool>(new GenPool(static_cast<unsigned>(min_alloc_order)));
}

Result<void> GenPool::Add(uint64_t addr, uint64_t size) {
  const uint64_t unit = uint64_t{1} << order_;
  if (size == 0 || addr % unit != 0 || size % unit != 0) return Errno(EINVAL);
  std::unique_ptr<CmaArea> chunk =
      TRY(CmaArea::Create("gen_pool", addr >> order_, size >> order_, 0));
  std::lock_guard lock(mu_);
  chunks_.push_back(std::move(chunk));
  return {};
}

namespace {

std::mutex& RegistryMutex() {
  static std::mutex mu;
  return mu;
}
std::vector<GenPool*>& Registry() {
  static auto* pools = new std::vector<GenPool*>;  // outlives every pool
  return *pools;
}

}  // namespace

GenPool::GenPool(unsigned order) : order_(order) {
  std::lock_guard lock(RegistryMutex());
  Registry().push_back(this);
}

GenPool::~GenPool() {
  std::lock_guard lock(RegistryMutex());
  std::erase(Registry(), this);
}

std::vector<GenPool*> GenPool::PoolsContaining(uint64_t addr) {
  std::lock_guard lock(RegistryMutex());
  std::vector<GenPool*> out;
  for (GenPool* pool : Registry()) {
    if (pool->Contains(addr)) out.push_back(pool);
  }
  return out;
}

bool GenPool::Contains(uint64_t addr) const {
  std::lock_guard lock(mu_);
  for (const auto& chunk : chunks_) {
    if (chunk->Contains(addr >> order_)) return true;
  }
  return false;
}

Result<void> GenPool::Claim(uint64_t addr, uint64_t size) {
  if (size == 0 || (addr & ((uint64_t{1} << order_) - 1)) != 0) return Errno(EINVAL);
  std::lock_guard lock(mu_);
  for (const auto& chunk : chunks_) {
    if (chunk->Contains(addr >> order_)) return chunk->Claim(addr >> order_, Granules(size));
  }
  return Errno(EINVAL);
}

Result<uint64_t> GenPool::Alloc(uint64_t size) {
  if (size == 0) return Errno(EINVAL);
  const uint64_t granules = Granules(size);
  std::lock_guard lock(mu_);
  for (const auto& chunk : chunks_) {
    Result<uint64_t> first = chunk->Alloc(granules, 0);
    if (first.ok()) return *first << order_;
  }
  return Errno(ENOMEM);
}

void GenPool::Free(uint64_t addr, uint64_t size) {
  if (size == 0) return;
  const uint64_t granules = Granules(size);
  std::lock_guard lock(mu_);
  for (const auto& chunk : chunks_) {
    if (chunk->Release(addr >> order_, granules)) return;
  }
}

uint64_t GenPool::avail() const {
  std::lock_guard lock(mu_);
  uint64_t avail = 0;
  for (const auto& chunk : chunks_) avail += (chunk->count() - chunk->used()) << order_;
  return avail;
}

uint64_t GenPool::size() const {
  std::lock_guard lock(mu_);
  uint64_t size = 0;
  for (const auto& chunk : chunks_) size += chunk->count() << order_;
  return size;
}

}  // namespace dmaheap
