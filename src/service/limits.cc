#include "service/limits.h"

#include <cinttypes>
#include <cstdarg>
#include <cstdio>

#include "dmabuf/buffer_table.h"
#include "heap/dma_heap.h"
#include "mm/contiguous.h"

namespace dmaheap {

namespace {

// memparse of the whole text, above 0; 0 when it is not that.
uint64_t WholeSize(const std::string& text) {
  size_t used = 0;
  const uint64_t size = MemParse(text, &used);
  return used != 0 && used == text.size() ? size : 0;
}

}  // namespace

Result<uint64_t> ParseLimitSize(const std::string& option, const std::string& text) {
  const uint64_t size = WholeSize(text);
  if (size == 0) {
    std::fprintf(stderr, "dmaheapd: %s %s: expected a size above 0 (e.g. 512M, 2G)\n",
                 option.c_str(), text.c_str());
    return Errno(EINVAL);
  }
  return size;
}

Result<std::pair<std::string, uint64_t>> ParseHeapLimit(const std::string& text) {
  const size_t eq = text.find('=');
  const uint64_t size = eq == std::string::npos ? 0 : WholeSize(text.substr(eq + 1));
  if (eq == 0 || size == 0) {
    std::fprintf(stderr,
                 "dmaheapd: --heap-limit %s: expected NAME=SIZE with a size above 0 (e.g. "
                 "linux,cma=64M)\n",
                 text.c_str());
    return Errno(EINVAL);
  }
  return std::make_pair(text.substr(0, eq), size);
}

void AllocLimits::LogOnce(uid_t uid, const char* fmt, ...) {
  if (!logged_.insert(uid).second) return;
  va_list args;
  va_start(args, fmt);
  std::vfprintf(stderr, fmt, args);
  va_end(args);
}

Result<void> AllocLimits::Admit(const DmaHeap& heap, const Owner& owner, uint64_t len) {
  if (config_.uid_bytes != 0) {
    const UidUsage usage = buffers_.UsageOf(owner.uid);
    if (usage.bytes > config_.uid_bytes || len > config_.uid_bytes - usage.bytes) {
      ++denied_[owner.uid];
      LogOnce(owner.uid,
              "dmaheapd: uid %u: ALLOC of %" PRIu64 " bytes from %s refused (ENOMEM): its %" PRIu64
              " buffer(s) hold %" PRIu64 " bytes of its --uid-limit %" PRIu64 " (logged once)\n",
              owner.uid, len, heap.name().c_str(), usage.buffers, usage.bytes, config_.uid_bytes);
      return Errno(ENOMEM);
    }
  }
  if (auto limit = config_.heap_bytes.find(heap.name()); limit != config_.heap_bytes.end()) {
    const uint64_t used = heap.counters().live_bytes.load(std::memory_order_relaxed);
    if (used > limit->second || len > limit->second - used) {
      ++denied_[owner.uid];
      ++heap_denied_[heap.name()];
      LogOnce(owner.uid,
              "dmaheapd: uid %u: ALLOC of %" PRIu64 " bytes from %s refused (ENOMEM): the heap "
              "holds %" PRIu64 " bytes of its --heap-limit %s=%" PRIu64 " (logged once)\n",
              owner.uid, len, heap.name().c_str(), used, heap.name().c_str(), limit->second);
      return Errno(ENOMEM);
    }
  }
  return {};
}

std::string AllocLimits::StatsText() const {
  std::map<uid_t, UidUsage> usage = buffers_.UsageByUid();
  for (const auto& [uid, n] : denied_) usage.try_emplace(uid);
  std::string out;
  char line[256];
  for (const auto& [uid, u] : usage) {
    const auto denied = denied_.find(uid);
    std::snprintf(line, sizeof(line),
                  "uid %u buffers %" PRIu64 " bytes %" PRIu64 " limit %" PRIu64 " denied %" PRIu64
                  "\n",
                  uid, u.buffers, u.bytes, config_.uid_bytes,
                  denied == denied_.end() ? 0 : denied->second);
    out += line;
  }
  for (const auto& [name, bytes] : config_.heap_bytes) {
    const auto denied = heap_denied_.find(name);
    std::snprintf(line, sizeof(line), "limit heap %s bytes %" PRIu64 " denied %" PRIu64 "\n",
                  name.c_str(), bytes, denied == heap_denied_.end() ? 0 : denied->second);
    out += line;
  }
  return out;
}

}  // namespace dmaheap
