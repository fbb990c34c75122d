// What the sync sanitizer costs a program: run under `dmaheap run` once with
// `--sanitize=sync:continue` and once without (bench/sanitizer_run.sh runs both in turn and
// prints the ratios). Only the UAPI, as an unmodified program: /dev/dma_heap/system, ioctl, mmap.
//   SyncPair          SYNC START|RW + END|RW on a mapped, populated buffer (sanitized: two
//                     mprotects of the mapping)
//   SyncPairTwoMaps   the same with two populated mappings of the buffer (four mprotects)
//   FirstTouch        ALLOC + mmap + SYNC START|WRITE + one write per page + END + munmap +
//                     close: what a user pays for a new buffer
//   BracketedTouch    START|RW + one write per page + END on a mapped, populated buffer
//   UnbracketedTouch  one write per page with no bracket, then a SYNC pair: sanitized, every
//                     page faults and is reported (counted; one report printed per buffer) —
//                     the cost of a violation, not of a correct program

#include <fcntl.h>
#include <linux/dma-buf.h>
#include <linux/dma-heap.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>

namespace {

constexpr size_t kPage = 4096;

int HeapFd() {
  static const int fd = [] {
    const int heap = open("/dev/dma_heap/system", O_RDWR | O_CLOEXEC);
    if (heap < 0) {
      std::perror("open /dev/dma_heap/system (run under dmaheap run)");
      std::exit(1);
    }
    return heap;
  }();
  return fd;
}

int Alloc(size_t len) {
  dma_heap_allocation_data d{};
  d.len = len;
  d.fd_flags = O_RDWR | O_CLOEXEC;
  if (ioctl(HeapFd(), DMA_HEAP_IOCTL_ALLOC, &d) != 0) std::abort();
  return static_cast<int>(d.fd);
}

void Sync(int fd, uint64_t flags) {
  dma_buf_sync s{flags};
  if (ioctl(fd, DMA_BUF_IOCTL_SYNC, &s) != 0) std::abort();
}

uint8_t* Map(int fd, size_t len) {
  void* p = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) std::abort();
  return static_cast<uint8_t*>(p);
}

void TouchPages(uint8_t* p, size_t len) {
  for (size_t off = 0; off < len; off += kPage) p[off] = static_cast<uint8_t>(off >> 12);
  benchmark::ClobberMemory();
}

// A mapped buffer whose pages are already faulted in.
struct Populated {
  explicit Populated(size_t len) : len(len), fd(Alloc(len)), p(Map(fd, len)) {
    Sync(fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW);
    TouchPages(p, len);
    Sync(fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW);
  }
  ~Populated() {
    munmap(p, len);
    close(fd);
  }
  size_t len;
  int fd;
  uint8_t* p;
};

void Sizes(benchmark::internal::Benchmark* b) {
  for (int64_t size : {4 << 10, 64 << 10, 1 << 20, 8 << 20, 32 << 20}) b->Arg(size);
}

void BM_SyncPair(benchmark::State& state) {
  Populated buf(static_cast<size_t>(state.range(0)));
  for (auto _ : state) {
    Sync(buf.fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW);
    Sync(buf.fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW);
  }
}
BENCHMARK(BM_SyncPair)->Apply(Sizes);

void BM_SyncPairTwoMaps(benchmark::State& state) {
  Populated buf(static_cast<size_t>(state.range(0)));
  uint8_t* second = Map(buf.fd, buf.len);
  Sync(buf.fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW);
  TouchPages(second, buf.len);  // populated too: what mprotect walks
  Sync(buf.fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW);
  for (auto _ : state) {
    Sync(buf.fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW);
    Sync(buf.fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW);
  }
  munmap(second, buf.len);
}
BENCHMARK(BM_SyncPairTwoMaps)->Arg(4 << 10)->Arg(1 << 20);

void BM_FirstTouch(benchmark::State& state) {
  const auto len = static_cast<size_t>(state.range(0));
  for (auto _ : state) {
    const int fd = Alloc(len);
    uint8_t* p = Map(fd, len);
    Sync(fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_WRITE);
    TouchPages(p, len);
    Sync(fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_WRITE);
    munmap(p, len);
    close(fd);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * len));
}
BENCHMARK(BM_FirstTouch)->Apply(Sizes);

void BM_BracketedTouch(benchmark::State& state) {
  Populated buf(static_cast<size_t>(state.range(0)));
  for (auto _ : state) {
    Sync(buf.fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW);
    TouchPages(buf.p, buf.len);
    Sync(buf.fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW);
  }
}
BENCHMARK(BM_BracketedTouch)->Apply(Sizes);

void BM_UnbracketedTouch(benchmark::State& state) {
  Populated buf(static_cast<size_t>(state.range(0)));
  for (auto _ : state) {
    TouchPages(buf.p, buf.len);
    // A new period: every page is protected (and reported) again.
    Sync(buf.fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW);
    Sync(buf.fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW);
  }
}
BENCHMARK(BM_UnbracketedTouch)->Arg(4 << 10)->Arg(1 << 20);

}  // namespace

BENCHMARK_MAIN();
