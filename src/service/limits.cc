#include "service/limits.h"

#include <cinttypes>
#include <cstdarg>
#include <cstdio>

#include "dmabuf/buffer_table.h"
#include "heap/dma_heap.h"
#include "mm/contiguous.h"

namespace dmaheap {

namespace {

// A strict size (mm/contiguous.h) above 0; 0 when it is not that.
uint64_t WholeSize(const std::string& text) {
  uint64_t size = 0;
  return ParseStrictSize(text, &size) ? size : 0;
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

LimitConfig DefaultLimits(uint64_t memory_bytes, uint64_t max_user_watches, uint64_t fd_limit) {
  LimitConfig c;
  c.default_bytes = memory_bytes / 2;
  c.default_buffers = max_user_watches / 8;
  c.default_connections = fd_limit / 16;
  return c;
}

AllocLimits::UidLimits AllocLimits::LimitsOf(uid_t uid) const {
  UidLimits l;
  const bool defaults = uid != 0 && config_.exempt.count(uid) == 0;
  l.bytes = config_.uid_bytes != 0 ? config_.uid_bytes : defaults ? config_.default_bytes : 0;
  if (defaults) {
    l.buffers = config_.default_buffers;
    l.connections = config_.default_connections;
  }
  return l;
}

Result<void> AllocLimits::Admit(const DmaHeap& heap, const Owner& owner, uint64_t len) {
  const UidLimits limits = LimitsOf(owner.uid);
  if (limits.bytes != 0 || limits.buffers != 0) {
    const UidUsage usage = buffers_.UsageOf(owner.uid);
    if (limits.bytes != 0 && (usage.bytes > limits.bytes || len > limits.bytes - usage.bytes)) {
      ++denied_[owner.uid];
      LogOnce(owner.uid,
              "dmaheapd: uid %u: ALLOC of %" PRIu64 " bytes from %s refused (ENOMEM): its %" PRIu64
              " buffer(s) hold %" PRIu64 " bytes of its %s %" PRIu64 " (logged once)\n",
              owner.uid, len, heap.name().c_str(), usage.buffers, usage.bytes,
              config_.uid_bytes != 0 ? "--uid-limit" : "default limit", limits.bytes);
      return Errno(ENOMEM);
    }
    if (limits.buffers != 0 && usage.buffers >= limits.buffers) {
      ++denied_[owner.uid];
      LogOnce(owner.uid,
              "dmaheapd: uid %u: ALLOC from %s refused (ENOMEM): it holds %" PRIu64
              " buffers, its default limit (logged once)\n",
              owner.uid, heap.name().c_str(), usage.buffers);
      return Errno(ENOMEM);
    }
  }
  if (auto limit = config_.heap_bytes.find(heap.name()); limit != config_.heap_bytes.end()) {
    const uint64_t used = heap.counters().live_bytes.load(std::memory_order_relaxed);
    if (used > limit->second || len > limit->second - used) {
      ++denied_[owner.uid];
      ++heap_denied_[heap.name()];
      LogOnce(owner.uid,
              "dmaheapd: uid %u: ALLOC of %" PRIu64
              " bytes from %s refused (ENOMEM): the heap "
              "holds %" PRIu64 " bytes of its --heap-limit %s=%" PRIu64 " (logged once)\n",
              owner.uid, len, heap.name().c_str(), used, heap.name().c_str(), limit->second);
      return Errno(ENOMEM);
    }
  }
  return {};
}

bool AllocLimits::Connect(uid_t uid) {
  const uint64_t limit = LimitsOf(uid).connections;
  uint64_t& open = connections_[uid];
  if (limit != 0 && open >= limit) {
    ++refused_[uid];
    if (open == 0) connections_.erase(uid);
    LogOnce(uid,
            "dmaheapd: uid %u: connection refused: it has %" PRIu64
            " open, its default limit (logged once)\n",
            uid, open);
    return false;
  }
  ++open;
  return true;
}

void AllocLimits::Disconnected(uid_t uid) {
  auto it = connections_.find(uid);
  if (it != connections_.end() && --it->second == 0) connections_.erase(it);
}

std::string AllocLimits::StatsText() const {
  std::map<uid_t, UidUsage> usage = buffers_.UsageByUid();
  for (const auto& [uid, n] : denied_) usage.try_emplace(uid);
  for (const auto& [uid, n] : connections_) usage.try_emplace(uid);
  for (const auto& [uid, n] : refused_) usage.try_emplace(uid);
  std::string out;
  char line[320];
  auto count = [](const std::map<uid_t, uint64_t>& m, uid_t uid) -> uint64_t {
    const auto it = m.find(uid);
    return it == m.end() ? 0 : it->second;
  };
  for (const auto& [uid, u] : usage) {
    const UidLimits l = LimitsOf(uid);
    std::snprintf(line, sizeof(line),
                  "uid %u buffers %" PRIu64 " bytes %" PRIu64 " limit %" PRIu64 " denied %" PRIu64
                  " buffer_limit %" PRIu64 " connections %" PRIu64 " connection_limit %" PRIu64
                  " refused %" PRIu64 "\n",
                  uid, u.buffers, u.bytes, l.bytes, count(denied_, uid), l.buffers,
                  count(connections_, uid), l.connections, count(refused_, uid));
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
