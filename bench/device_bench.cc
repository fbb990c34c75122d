// What importing costs, against baselines of the same run (../shared/PERFORMANCE.md):
//   Alloc            embedded system-heap ALLOC + close (db845c): the baseline
//   AttachIommu      Attach + map + unmap + detach of an allocated system buffer for db845c's
//                    codec (one IOVA range, cache maintenance counted): iommu-dma
//   AttachDirect     the same for hikey960's display with a CMA buffer: dma-direct
//   DaemonSyncLocal  SYNC START + END on a daemon buffer no device has mapped: validated and
//                    answered in the client (the baseline)
//   DaemonSyncMapped the same while a device has it mapped: both go to the daemon's exporter
// bench/device_run.sh prints the ratios.

#include <benchmark/benchmark.h>

#include <cstdlib>

#include "daemon_fixture.h"
#include "dmaheap/client.h"
#include "dmaheap/dmaheap.h"
#include "dmaheap/uapi/linux/dma-buf.h"

namespace {

std::unique_ptr<dmaheap::System> Boot(const char* board) {
  dmaheap::BootOptions options;
  options.board = board;
  auto sys = dmaheap::System::Boot(options);
  if (!sys.ok()) std::abort();
  return std::move(sys).value();
}

void BM_Alloc(benchmark::State& state) {
  auto sys = Boot("db845c");
  for (auto _ : state) {
    auto fd = sys->Allocate("system", state.range(0));
    if (!fd.ok()) std::abort();
  }
}

void AttachLoop(benchmark::State& state, const char* board, const char* heap,
                const char* device) {
  auto sys = Boot(board);
  auto fd = sys->Allocate(heap, state.range(0));
  if (!fd.ok()) std::abort();
  for (auto _ : state) {
    auto a = sys->Attach(fd->get(), device);
    if (!a.ok()) std::abort();
  }
}

void BM_AttachIommu(benchmark::State& state) {
  AttachLoop(state, "db845c", "system", "video-codec@aa00000");
}

void BM_AttachDirect(benchmark::State& state) {
  AttachLoop(state, "hikey960", "default_cma_region", "dpe@e8600000");
}

// A daemon buffer, attached to the default board's codec or not, synced START + END.
void SyncLoop(benchmark::State& state, bool mapped) {
  static dmaheap::testing_util::Daemon daemon;
  if (!daemon.ready()) {
    state.SkipWithError("dmaheapd did not start");
    return;
  }
  setenv("DMAHEAP_DIR", daemon.dir().c_str(), 1);
  setenv("DMAHEAP_CONTROL", daemon.control().c_str(), 1);
  dmaheap::ClientOptions options;
  options.backend = dmaheap::Backend::kDaemon;
  auto client = dmaheap::Client::Open(options);
  if (!client.ok()) std::abort();
  auto fd = (*client)->Allocate("system", state.range(0));
  if (!fd.ok()) std::abort();
  dmaheap::Attachment attachment;
  if (mapped) attachment = std::move((*client)->Attach(fd->get(), "codec@11000000")).value();
  for (auto _ : state) {
    dma_buf_sync sync{DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW};
    if (dmaheap::BufferIoctl(fd->get(), DMA_BUF_IOCTL_SYNC, &sync) != 0) std::abort();
    sync.flags = DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW;
    if (dmaheap::BufferIoctl(fd->get(), DMA_BUF_IOCTL_SYNC, &sync) != 0) std::abort();
  }
}

void BM_DaemonSyncLocal(benchmark::State& state) { SyncLoop(state, false); }
void BM_DaemonSyncMapped(benchmark::State& state) { SyncLoop(state, true); }

void Sizes(benchmark::internal::Benchmark* b) {
  for (int64_t size : {64 << 10, 1 << 20, 8 << 20}) b->Arg(size);
}

BENCHMARK(BM_Alloc)->Apply(Sizes);
BENCHMARK(BM_AttachIommu)->Apply(Sizes);
BENCHMARK(BM_AttachDirect)->Apply(Sizes);
BENCHMARK(BM_DaemonSyncLocal)->Arg(1 << 20);
BENCHMARK(BM_DaemonSyncMapped)->Arg(1 << 20);

}  // namespace

BENCHMARK_MAIN();
