// System-heap allocation against its baselines, in one binary so every ratio compares figures
// of the same run (../shared/PERFORMANCE.md):
//   RawMemfd        memfd_create + ftruncate + seals + commit + close: what a process does alone
//   RawMemfdWatch   the same + an inotify release watch, and reading its event after close
//   SystemHeap      dmaheap embedded ALLOC + close
//   *Touch          + mmap + write one byte per page + munmap: what a user pays
//   SocketRoundTrip SEQPACKET ping-pong with another process, with and without an fd
//   TouchBound      memset over memory already faulted in: the physical limit

#include <fcntl.h>
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <BufferAllocator/BufferAllocator.h>
#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "dmaheap/dmaheap.h"
#include "dmaheap/fd_passing.h"
#include "daemon_fixture.h"
#include "mm/cma.h"
#include "platform/sys.h"

namespace {

constexpr int kSeals = F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL;

// p99 over the repetitions of a run (each repetition's mean time per operation).
double P99(const std::vector<double>& v) {
  std::vector<double> sorted(v);
  std::sort(sorted.begin(), sorted.end());
  if (sorted.empty()) return 0;
  size_t i = static_cast<size_t>(0.99 * static_cast<double>(sorted.size() - 1) + 0.5);
  return sorted[i];
}

void Common(benchmark::internal::Benchmark* b) { b->ComputeStatistics("p99", P99); }

void Sizes(benchmark::internal::Benchmark* b) {
  Common(b);
  for (int64_t size : {4 << 10, 64 << 10, 1 << 20, 8 << 20, 32 << 20, 5 * 4096 + 123})
    b->Arg(size);
}

uint64_t PageAlign(uint64_t len) { return (len + 4095) & ~uint64_t{4095}; }

int RawMemfd(uint64_t size) {
  int fd = memfd_create("bench", MFD_CLOEXEC | MFD_ALLOW_SEALING);
  if (fd < 0 || ftruncate(fd, static_cast<off_t>(size)) != 0 || fcntl(fd, F_ADD_SEALS, kSeals) ||
      fallocate(fd, 0, 0, static_cast<off_t>(size)) != 0) {
    std::abort();
  }
  return fd;
}

void Touch(int fd, uint64_t size) {
  void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) std::abort();
  auto* bytes = static_cast<volatile uint8_t*>(p);
  for (uint64_t off = 0; off < size; off += 4096) bytes[off] = 1;
  munmap(p, size);
}

void BM_RawMemfd(benchmark::State& state) {
  const uint64_t size = PageAlign(state.range(0));
  for (auto _ : state) close(RawMemfd(size));
  state.SetBytesProcessed(state.iterations() * size);
}

void BM_RawMemfdWatch(benchmark::State& state) {
  const uint64_t size = PageAlign(state.range(0));
  int ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  alignas(inotify_event) char events[4096];
  for (auto _ : state) {
    int fd = RawMemfd(size);
    char path[32];
    std::snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    if (inotify_add_watch(ifd, path, IN_DELETE_SELF) < 0) std::abort();
    close(fd);
    while (read(ifd, events, sizeof(events)) > 0) {
    }
  }
  close(ifd);
  state.SetBytesProcessed(state.iterations() * size);
}

std::unique_ptr<dmaheap::System> BootForBench() {
  dmaheap::BootOptions options;
  options.ram_bytes = uint64_t{1} << 30;
  auto sys = dmaheap::System::Boot(options);
  if (!sys.ok()) std::abort();
  return std::move(sys).value();
}

// ALLOC + close, and with `touch` also map + write one byte per page in between.
void SystemHeapLoop(benchmark::State& state, bool touch) {
  const uint64_t size = state.range(0);
  auto sys = BootForBench();
  auto heap = sys->FindHeap("system").value();
  for (auto _ : state) {
    auto fd = sys->Allocate(heap, size);
    if (!fd.ok()) std::abort();
    if (touch) Touch(fd->get(), PageAlign(size));
  }
  state.SetBytesProcessed(state.iterations() * PageAlign(size));
}

void BM_SystemHeap(benchmark::State& state) { SystemHeapLoop(state, /*touch=*/false); }

void BM_RawMemfdTouch(benchmark::State& state) {
  const uint64_t size = PageAlign(state.range(0));
  for (auto _ : state) {
    int fd = RawMemfd(size);
    Touch(fd, size);
    close(fd);
  }
  state.SetBytesProcessed(state.iterations() * size);
}

void BM_SystemHeapTouch(benchmark::State& state) { SystemHeapLoop(state, /*touch=*/true); }

// One dmaheapd for the daemon benchmarks: started on first use, stopped (SIGTERM, reaped) when
// the benchmark binary exits.
dmaheap::testing_util::Daemon* BenchDaemon() {
  static dmaheap::testing_util::Daemon daemon_instance;
  return &daemon_instance;
}

// The CMA heap of the default board (128 MiB, one contiguous range per buffer): ALLOC + map +
// one write per page + close, like SystemHeapTouch.
void BM_CmaHeapTouch(benchmark::State& state) {
  const uint64_t size = state.range(0);
  dmaheap::BootOptions options;
  options.board = "default";
  auto sys = dmaheap::System::Boot(options);
  if (!sys.ok()) std::abort();
  auto heap = (*sys)->FindHeap("default_cma_region").value();
  for (auto _ : state) {
    auto fd = (*sys)->Allocate(heap, size);
    if (!fd.ok()) std::abort();
    Touch(fd->get(), PageAlign(size));
  }
  state.SetBytesProcessed(state.iterations() * PageAlign(size));
}

// libdmabufheap's Alloc through the daemon + close: one round trip (ALLOC and the name together).
// Must run before BM_DmabufheapAlloc: once a process has used the embedded backend, libdmabufheap
// keeps it.
void BM_DmabufheapDaemonAlloc(benchmark::State& state) {
  const uint64_t size = state.range(0);
  dmaheap::testing_util::Daemon* daemon = BenchDaemon();
  if (!daemon->ready()) {
    state.SkipWithError("dmaheapd did not start");
    return;
  }
  for (const auto& [key, value] : daemon->Env()) setenv(key.c_str(), value.c_str(), 1);
  setenv("DMAHEAP_BACKEND", "daemon", 1);
  const long before = daemon->Stat("heap system", "allocations");
  {
    BufferAllocator allocator;
    for (auto _ : state) {
      const int fd = allocator.Alloc(kDmabufSystemHeapName, size);
      if (fd < 0) std::abort();
      close(fd);
    }
  }
  if (daemon->Stat("heap system", "allocations") - before < static_cast<long>(state.iterations()))
    state.SkipWithError("libdmabufheap did not use the daemon");
  state.SetBytesProcessed(state.iterations() * PageAlign(size));
}

// libdmabufheap's Alloc on the embedded backend + close: System::Allocate plus what the drop-in
// adds (the heap lookup by name, naming the buffer after its heap).
void BM_DmabufheapAlloc(benchmark::State& state) {
  const uint64_t size = state.range(0);
  setenv("DMAHEAP_BACKEND", "embedded", 1);
  BufferAllocator allocator;
  for (auto _ : state) {
    const int fd = allocator.Alloc(kDmabufSystemHeapName, size);
    if (fd < 0) std::abort();
    close(fd);
  }
  state.SetBytesProcessed(state.iterations() * PageAlign(size));
}

// Ping-pong with a forked echo process; Arg(1) passes a memfd with every request.
void BM_SocketRoundTrip(benchmark::State& state) {
  const bool with_fd = state.range(0) != 0;
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0) std::abort();
  pid_t child = fork();
  if (child == 0) {
    close(sv[0]);
    char c;
    for (;;) {
      auto got = dmaheap::RecvFd(sv[1], &c, 1);
      if (!got.ok()) _exit(0);
      if (write(sv[1], &c, 1) != 1) _exit(0);
    }
  }
  close(sv[1]);
  int payload_fd = with_fd ? memfd_create("bench", MFD_CLOEXEC) : -1;
  char c = 'p';
  for (auto _ : state) {
    if (!dmaheap::SendFd(sv[0], payload_fd, &c, 1).ok()) std::abort();
    if (read(sv[0], &c, 1) != 1) std::abort();
  }
  if (payload_fd >= 0) close(payload_fd);
  close(sv[0]);
  waitpid(child, nullptr, 0);
}

// ALLOC through a running dmaheapd, as the shim does it (round trip, fd received, O_RDWR memory
// committed here) + close. Baseline: socket round trip with an fd + RawMemfdWatch.
void BM_DaemonAlloc(benchmark::State& state) {
  const uint64_t size = state.range(0);
  dmaheap::testing_util::Daemon* daemon = BenchDaemon();
  if (!daemon->ready()) {
    state.SkipWithError("dmaheapd did not start");
    return;
  }
  auto sock = dmaheap::ConnectSocket(daemon->dir() + "/system");
  if (!sock.ok()) std::abort();
  for (auto _ : state) {
    auto fd = dmaheap::testing_util::DaemonAlloc(sock->get(), size);
    if (!fd.ok()) std::abort();
  }
  state.SetBytesProcessed(state.iterations() * PageAlign(size));
}

// cma_alloc + cma_release of small requests on a 128 MiB area that is half full of scattered
// allocations (the kernel's algorithm; PERFORMANCE.md asks for ≥ 1 M pairs a second).
void BM_CmaAllocRelease(benchmark::State& state) {
  auto area = std::move(dmaheap::CmaArea::Create("bench", 0x48000, 32768, 0)).value();
  std::vector<uint64_t> keep;
  for (int i = 0; i < 2048; ++i) {
    auto a = area->Alloc(8, 0);
    auto b = area->Alloc(8, 0);
    if (!a.ok() || !b.ok()) std::abort();
    keep.push_back(*a);
    if (!area->Release(*b, 8)) std::abort();
  }
  const uint64_t pages = static_cast<uint64_t>(state.range(0));
  for (auto _ : state) {
    auto pfn = area->Alloc(pages, 0);
    if (!pfn.ok() || !area->Release(*pfn, pages)) std::abort();
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_TouchBound(benchmark::State& state) {
  const uint64_t size = PageAlign(state.range(0));
  std::vector<uint8_t> mem(size, 1);
  for (auto _ : state) {
    std::memset(mem.data(), 0, size);
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(state.iterations() * size);
}

BENCHMARK(BM_RawMemfd)->Apply(Sizes);
BENCHMARK(BM_RawMemfdWatch)->Apply(Sizes);
BENCHMARK(BM_SystemHeap)->Apply(Sizes);
BENCHMARK(BM_RawMemfdTouch)->Apply(Sizes);
BENCHMARK(BM_SystemHeapTouch)->Apply(Sizes);
BENCHMARK(BM_CmaHeapTouch)->Apply(Sizes);
BENCHMARK(BM_DmabufheapDaemonAlloc)->Apply(Common)->Arg(4 << 10)->Arg(1 << 20);
BENCHMARK(BM_DmabufheapAlloc)->Apply(Sizes);
BENCHMARK(BM_SocketRoundTrip)->Apply(Common)->Arg(0)->Arg(1);
BENCHMARK(BM_TouchBound)->Apply(Sizes);
BENCHMARK(BM_CmaAllocRelease)->Arg(1)->Arg(16);
BENCHMARK(BM_DaemonAlloc)->Apply(Common)->Arg(4 << 10)->Arg(1 << 20)->Arg(32 << 20);

}  // namespace

BENCHMARK_MAIN();
