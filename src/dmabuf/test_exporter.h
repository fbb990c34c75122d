// For the dma-buf layer's own tests: an exporter and a buffer table to export from, so the
// tests exercise the dma-buf core alone (no heap, no System).
#ifndef DMAHEAP_SRC_DMABUF_TEST_EXPORTER_H
#define DMAHEAP_SRC_DMABUF_TEST_EXPORTER_H

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <string>

#include "dmabuf/buffer_table.h"
#include "dmabuf/dma_buf.h"

namespace dmaheap::testing_util {

// Counts what the dma-buf core tells an exporter: buffers exported and released.
class CountingExporter final : public DmaBufExporter {
 public:
  explicit CountingExporter(std::string name = "test") : name_(std::move(name)) {}
  const std::string& exp_name() const override { return name_; }
  void BufferExported(uint64_t size) override {
    live_ += 1;
    bytes_ += size;
  }
  void BufferReleased(uint64_t size) override {
    live_ -= 1;
    bytes_ -= size;
  }
  long live() const { return live_.load(); }
  uint64_t bytes() const { return bytes_.load(); }

 private:
  const std::string name_;
  std::atomic<long> live_{0};
  std::atomic<uint64_t> bytes_{0};
};

// The exporter's buffer: counts its releases.
class CountedOps final : public DmaBufOps {
 public:
  explicit CountedOps(std::atomic<int>* released) : released_(released) {}
  ~CountedOps() override { released_->fetch_add(1); }
  Result<void> Mmap(const VmaRequest& /*vma*/) override { return {}; }

 private:
  std::atomic<int>* released_;
};

// A buffer table with one exporter: buffers exported and installed as the core does it.
class TestBuffers {
 public:
  explicit TestBuffers(std::string exp_name = "test", CommitPolicy commit = CommitPolicy::kHere)
      : exporter_(std::move(exp_name)),
        table_(std::move(BufferTable::Create(sys::ShmemThp::kHugeNever, commit)).value()) {}

  // An export, not installed.
  Result<DmaBufRef> Export(uint64_t size, uint32_t flags = O_RDWR | O_CLOEXEC) {
    return table_->Export({&exporter_, size, flags, std::make_unique<CountedOps>(&released_)});
  }
  // An export installed for this process: its fd (invalid on failure).
  UniqueFd Alloc(uint64_t size, uint32_t flags = O_RDWR | O_CLOEXEC, std::string_view name = {}) {
    Result<DmaBufRef> buf = Export(size, flags);
    if (!buf.ok()) return UniqueFd();
    Result<UniqueFd> fd =
        table_->Install(*buf, InstallRequest{Owner{getpid(), getuid(), getgid()}, name, flags});
    return fd.ok() ? std::move(fd).value() : UniqueFd();
  }
  // Live buffers once the queued releases are processed.
  size_t Live() {
    table_->ProcessReleases();
    return table_->live_count();
  }

  BufferTable& table() { return *table_; }
  CountingExporter& exporter() { return exporter_; }
  int released() const { return released_.load(); }

 private:
  CountingExporter exporter_;
  std::atomic<int> released_{0};
  std::unique_ptr<BufferTable> table_;
};

}  // namespace dmaheap::testing_util

#endif  // DMAHEAP_SRC_DMABUF_TEST_EXPORTER_H
