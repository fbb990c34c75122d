// Fuzz target: the daemon's buffer record ("<heap dir>.state"), which a restarted daemon reads
// before it re-adopts anything: any bytes decode to whole records up to the first damage, and
// what decodes encodes back to the same bytes.
#include <cstddef>
#include <cstdint>
#include <span>

#include "system/buffer_log.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace dmaheap;
  const LogContents log = DecodeLog(std::span<const uint8_t>(data, size));
  for (const auto& [id, record] : log.records) {
    if (id != record.id || record.heap.empty()) __builtin_trap();
    const LogContents again = DecodeLog(EncodeRecord(record));
    if (again.records.size() != 1 || again.records.begin()->second.table != record.table ||
        again.records.begin()->second.name != record.name)
      __builtin_trap();
  }
  return 0;
}
