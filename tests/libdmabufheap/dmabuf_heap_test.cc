// The libdmabufheap drop-in (include/BufferAllocator/) held to what its API promises and to what
// the kernel does with DMA-BUF heaps: allocation by heap name and through AllocSystem, shared
// mappings, zero-filled memory, CPU access brackets, the C wrapper, its errors, and one allocator
// shared by many threads.
//
// The binary uses only public headers and does not choose a backend: ctest runs it once per
// backend with DMAHEAP_BACKEND set (the daemon and kernel runs under `dmaheap run`, which provides
// the private daemon or the /dev/dma_heap shim), and RequestedBackendServesTheCalls checks that
// the calls went where DMAHEAP_BACKEND said.
#include <BufferAllocator/BufferAllocator.h>
#include <BufferAllocator/BufferAllocatorWrapper.h>
#include <dmaheap/client.h>
#include <dmaheap/unique_fd.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <latch>
#include <memory>
#include <string>
#include <thread>
#include <unordered_set>
#include <vector>

namespace {

using dmaheap::UniqueFd;

const size_t kPageSize = static_cast<size_t>(sysconf(_SC_PAGESIZE));

// Not a page multiple, so the heap has to round it up.
constexpr size_t kOddSize = 3 * 4096 + 211;

// One page; 64 KiB and 1 MiB, the larger chunks the kernel's system heap hands out (orders 4 and
// 8); 2 MiB, one PMD-sized huge page; and the odd size.
const size_t kSweep[] = {4 << 10, 64 << 10, 1 << 20, 2 << 20, kOddSize};

size_t PageAligned(size_t len) { return (len + kPageSize - 1) / kPageSize * kPageSize; }

std::string Describe(const std::string& heap, size_t len) {
  return "heap \"" + heap + "\", " + std::to_string(len) + " bytes";
}

// The byte a pattern fill puts at `offset`; `seed` tells buffers apart.
uint8_t PatternAt(size_t offset, uint8_t seed) {
  return static_cast<uint8_t>((offset * 167) ^ (offset >> 11) ^ seed);
}

void FillPattern(uint8_t* bytes, size_t len, uint8_t seed) {
  for (size_t i = 0; i < len; ++i) bytes[i] = PatternAt(i, seed);
}

// The offset of the first byte that breaks the pattern, or `len` when none does.
size_t PatternMismatch(const uint8_t* bytes, size_t len, uint8_t seed) {
  for (size_t i = 0; i < len; ++i) {
    if (bytes[i] != PatternAt(i, seed)) return i;
  }
  return len;
}

// The offset of the first non-zero byte, or `len` when all are zero.
size_t FirstNonZero(const uint8_t* bytes, size_t len) {
  for (size_t i = 0; i < len; ++i) {
    if (bytes[i] != 0) return i;
  }
  return len;
}

// A MAP_SHARED mapping of the start of a buffer, unmapped on destruction unless Unmap() already
// did. mmap's result is compared with MAP_FAILED: NULL is not how mmap reports an error.
class SharedMap {
 public:
  SharedMap(int fd, size_t len, int prot)
      : len_(len), addr_(mmap(nullptr, len, prot, MAP_SHARED, fd, 0)) {}
  SharedMap(const SharedMap&) = delete;
  SharedMap& operator=(const SharedMap&) = delete;
  ~SharedMap() {
    if (mapped()) munmap(addr_, len_);
  }

  bool mapped() const { return addr_ != MAP_FAILED; }
  uint8_t* bytes() const { return static_cast<uint8_t*>(addr_); }

  // munmap's result: 0, or -1 with errno.
  int Unmap() {
    const int rc = munmap(addr_, len_);
    addr_ = MAP_FAILED;
    return rc;
  }

 private:
  size_t len_;
  void* addr_;  // MAP_FAILED == not mapped
};

// Runs `touch` between CpuSyncStart and CpuSyncEnd of `type`, failing the test if either end of
// the bracket fails. The kernel would accept a START without an END, so keeping them paired is
// the caller's duty, done here once. Callers wrap it in ASSERT_NO_FATAL_FAILURE.
template <typename Touch>
void WithCpuAccess(BufferAllocator& allocator, int fd, SyncType type, Touch&& touch) {
  ASSERT_EQ(allocator.CpuSyncStart(fd, type), 0)
      << "START, type " << type << ": " << strerror(errno);
  touch();
  ASSERT_EQ(allocator.CpuSyncEnd(fd, type), 0)
      << "END, type " << type << ": " << strerror(errno);
}

// An fd number that is certainly not open: one just closed (no other thread opens files here).
int ClosedFd() {
  const int fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  if (fd >= 0) close(fd);
  return fd;
}

class DropInTest : public ::testing::Test {
 protected:
  // A buffer from `heap`, or an empty UniqueFd after a test failure naming heap, size and errno.
  UniqueFd AllocOrFail(const std::string& heap, size_t len) {
    const int fd = allocator_.Alloc(heap, len);
    EXPECT_GE(fd, 0) << Describe(heap, len) << ": " << strerror(errno);
    return UniqueFd(fd);
  }

  BufferAllocator allocator_;
};

TEST_F(DropInTest, HeapListNamesTheSystemHeap) {
  const std::unordered_set<std::string> heaps = BufferAllocator::GetDmabufHeapList();
  ASSERT_FALSE(heaps.empty());
  EXPECT_EQ(heaps.count(kDmabufSystemHeapName), 1u);
  for (const std::string& heap : heaps) {
    EXPECT_FALSE(heap.empty());
    EXPECT_NE(heap, ".") << "directory entries are not heaps";
    EXPECT_NE(heap, "..") << "directory entries are not heaps";
  }
}

// Every heap the list names must allocate, by that name, every size of the sweep, rounded up to
// whole pages as DMA_HEAP_IOCTL_ALLOC rounds it.
TEST_F(DropInTest, EveryListedHeapAllocatesTheSweep) {
  const std::unordered_set<std::string> heaps = BufferAllocator::GetDmabufHeapList();
  ASSERT_FALSE(heaps.empty());
  for (const std::string& heap : heaps) {
    for (const size_t len : kSweep) {
      SCOPED_TRACE(Describe(heap, len));
      UniqueFd fd = AllocOrFail(heap, len);
      ASSERT_TRUE(fd.valid());
      EXPECT_EQ(lseek(fd.get(), 0, SEEK_END), static_cast<off_t>(PageAligned(len)));
      ASSERT_EQ(close(fd.release()), 0);
    }
  }
}

// AllocSystem serves both kinds of caller, whether or not a system-uncached heap exists (without
// one, the uncached request falls back to "system").
TEST_F(DropInTest, AllocSystemWithAndWithoutCpuAccess) {
  for (const bool cpu_access : {true, false}) {
    for (const size_t len : kSweep) {
      SCOPED_TRACE(std::string(cpu_access ? "cpu access, " : "no cpu access, ") +
                   std::to_string(len) + " bytes");
      UniqueFd fd(allocator_.AllocSystem(cpu_access, len));
      ASSERT_TRUE(fd.valid()) << strerror(errno);
      EXPECT_EQ(lseek(fd.get(), 0, SEEK_END), static_cast<off_t>(PageAligned(len)));
      ASSERT_EQ(close(fd.release()), 0);
    }
  }
}

// Two mappings of one buffer are the same memory: what one writes, the other reads, whole.
TEST_F(DropInTest, SecondMappingSeesWhatTheFirstWrote) {
  for (const size_t len : kSweep) {
    SCOPED_TRACE(Describe(kDmabufSystemHeapName, len));
    UniqueFd fd = AllocOrFail(kDmabufSystemHeapName, len);
    ASSERT_TRUE(fd.valid());
    SharedMap writer(fd.get(), len, PROT_READ | PROT_WRITE);
    ASSERT_TRUE(writer.mapped()) << strerror(errno);
    SharedMap reader(fd.get(), len, PROT_READ);
    ASSERT_TRUE(reader.mapped()) << strerror(errno);
    ASSERT_NE(writer.bytes(), reader.bytes());

    ASSERT_NO_FATAL_FAILURE(WithCpuAccess(allocator_, fd.get(), kSyncWrite,
                                          [&] { FillPattern(writer.bytes(), len, 0x5c); }));
    size_t mismatch = 0;
    ASSERT_NO_FATAL_FAILURE(WithCpuAccess(allocator_, fd.get(), kSyncRead, [&] {
      mismatch = PatternMismatch(reader.bytes(), len, 0x5c);
    }));
    EXPECT_EQ(mismatch, len) << "the second mapping differs at this offset";
    EXPECT_EQ(writer.Unmap(), 0);
    EXPECT_EQ(reader.Unmap(), 0);
  }
}

// Memory comes back zeroed even when the buffers freed just before were full of data: nothing
// one client wrote may reach the next.
TEST_F(DropInTest, RecycledMemoryComesBackZeroed) {
  constexpr int kDirtyBuffers = 12;
  for (const size_t len : kSweep) {
    SCOPED_TRACE(Describe(kDmabufSystemHeapName, len));
    std::vector<UniqueFd> dirty;
    for (int i = 0; i < kDirtyBuffers; ++i) {
      dirty.push_back(AllocOrFail(kDmabufSystemHeapName, len));
      ASSERT_TRUE(dirty.back().valid());
      SharedMap map(dirty.back().get(), len, PROT_WRITE);
      ASSERT_TRUE(map.mapped()) << strerror(errno);
      ASSERT_NO_FATAL_FAILURE(WithCpuAccess(allocator_, dirty.back().get(), kSyncWrite,
                                            [&] { memset(map.bytes(), 0xa7, len); }));
      ASSERT_EQ(map.Unmap(), 0);
    }
    for (UniqueFd& fd : dirty) ASSERT_EQ(close(fd.release()), 0);

    for (int i = 0; i < kDirtyBuffers; ++i) {
      UniqueFd fd = AllocOrFail(kDmabufSystemHeapName, len);
      ASSERT_TRUE(fd.valid());
      SharedMap map(fd.get(), len, PROT_READ);
      ASSERT_TRUE(map.mapped()) << strerror(errno);
      size_t dirty_at = 0;
      ASSERT_NO_FATAL_FAILURE(WithCpuAccess(allocator_, fd.get(), kSyncRead,
                                            [&] { dirty_at = FirstNonZero(map.bytes(), len); }));
      EXPECT_EQ(dirty_at, len) << "buffer " << i << " has a non-zero byte at this offset";
    }
  }
}

// Each sync type opens and closes a CPU access bracket, with the memory used as the type says:
// written inside WRITE and RW brackets, read back inside a READ one (a READ bracket reads the
// new buffer's zeros). A write inside a READ-only bracket is not cleaned at its END on
// non-coherent hardware; `dmaheap run --sanitize=sync` reports it.
TEST_F(DropInTest, EverySyncTypeOpensAndClosesABracket) {
  constexpr size_t kLen = 64 << 10;
  for (const SyncType type : {kSyncRead, kSyncWrite, kSyncReadWrite}) {
    SCOPED_TRACE("sync type " + std::to_string(type));
    UniqueFd fd = AllocOrFail(kDmabufSystemHeapName, kLen);
    ASSERT_TRUE(fd.valid());
    SharedMap map(fd.get(), kLen, PROT_READ | PROT_WRITE);
    ASSERT_TRUE(map.mapped()) << strerror(errno);
    const auto seed = static_cast<uint8_t>(type);
    size_t mismatch = 0;
    ASSERT_NO_FATAL_FAILURE(WithCpuAccess(allocator_, fd.get(), type, [&] {
      if (type == kSyncRead) {
        mismatch = FirstNonZero(map.bytes(), kLen);
      } else {
        FillPattern(map.bytes(), kLen, seed);
      }
    }));
    if (type != kSyncRead) {
      ASSERT_NO_FATAL_FAILURE(WithCpuAccess(allocator_, fd.get(), kSyncRead, [&] {
        mismatch = PatternMismatch(map.bytes(), kLen, seed);
      }));
    }
    EXPECT_EQ(mismatch, kLen);
    // A bracket closed, the buffer takes another.
    ASSERT_NO_FATAL_FAILURE(WithCpuAccess(allocator_, fd.get(), type, [] {}));
  }
}

// CpuSyncStart(fd) and CpuSyncEnd(fd), as code written against Android 12's header calls them,
// compile (the sync type defaults to kSyncRead) and bracket a read.
TEST_F(DropInTest, SyncTypeDefaultsToRead) {
  UniqueFd fd = AllocOrFail(kDmabufSystemHeapName, kPageSize);
  ASSERT_TRUE(fd.valid());
  SharedMap map(fd.get(), kPageSize, PROT_READ);
  ASSERT_TRUE(map.mapped()) << strerror(errno);
  ASSERT_EQ(allocator_.CpuSyncStart(fd.get()), 0) << strerror(errno);
  EXPECT_EQ(FirstNonZero(map.bytes(), kPageSize), kPageSize);
  ASSERT_EQ(allocator_.CpuSyncEnd(fd.get()), 0) << strerror(errno);
}

TEST_F(DropInTest, UnknownHeapFailsWithEnoent) {
  errno = 0;
  EXPECT_EQ(allocator_.Alloc("there-is-no-such-heap", kPageSize), -1);
  EXPECT_EQ(errno, ENOENT) << strerror(errno);
}

TEST_F(DropInTest, ZeroLengthFailsWithEinval) {
  errno = 0;
  EXPECT_EQ(allocator_.Alloc(kDmabufSystemHeapName, 0), -1);
  EXPECT_EQ(errno, EINVAL) << strerror(errno);
  errno = 0;
  EXPECT_EQ(allocator_.AllocSystem(/*cpu_access_needed=*/true, 0), -1);
  EXPECT_EQ(errno, EINVAL) << strerror(errno);
}

TEST_F(DropInTest, SyncOnAClosedFdFailsWithEbadf) {
  const int fd = ClosedFd();
  ASSERT_GE(fd, 0);
  for (const SyncType type : {kSyncRead, kSyncWrite, kSyncReadWrite}) {
    errno = 0;
    EXPECT_EQ(allocator_.CpuSyncStart(fd, type), -1);
    EXPECT_EQ(errno, EBADF) << strerror(errno);
    errno = 0;
    EXPECT_EQ(allocator_.CpuSyncEnd(fd, type), -1);
    EXPECT_EQ(errno, EBADF) << strerror(errno);
  }
}

// A pipe is an open fd but no dma-buf: it has no SYNC ioctl.
TEST_F(DropInTest, SyncOnAPipeFailsWithEnotty) {
  int ends[2];
  ASSERT_EQ(pipe2(ends, O_CLOEXEC), 0) << strerror(errno);
  const UniqueFd read_end(ends[0]);
  const UniqueFd write_end(ends[1]);
  for (const int fd : {ends[0], ends[1]}) {
    errno = 0;
    EXPECT_EQ(allocator_.CpuSyncStart(fd, kSyncRead), -1);
    EXPECT_EQ(errno, ENOTTY) << strerror(errno);
    errno = 0;
    EXPECT_EQ(allocator_.CpuSyncEnd(fd, kSyncRead), -1);
    EXPECT_EQ(errno, ENOTTY) << strerror(errno);
  }
}

// The kernel keeps at most DMA_BUF_NAME_LEN - 1 = 31 characters and refuses longer names;
// DmabufSetName truncates them instead, so every length succeeds.
TEST_F(DropInTest, NamesUpTo31CharsAndTruncatesLonger) {
  UniqueFd fd = AllocOrFail(kDmabufSystemHeapName, kPageSize);
  ASSERT_TRUE(fd.valid());
  for (size_t len = 0; len <= 31; ++len) {
    const std::string name(len, static_cast<char>('a' + len % 26));
    EXPECT_EQ(BufferAllocator::DmabufSetName(fd.get(), name), 0)
        << len << " characters: " << strerror(errno);
  }
  for (const size_t len : {32, 33, 64, 300}) {
    EXPECT_EQ(BufferAllocator::DmabufSetName(fd.get(), std::string(len, 'z')), 0)
        << len << " characters: " << strerror(errno);
  }
  // Naming leaves the buffer usable.
  ASSERT_NO_FATAL_FAILURE(WithCpuAccess(allocator_, fd.get(), kSyncReadWrite, [] {}));
}

TEST_F(DropInTest, RequestedBackendServesTheCalls) {
  dmaheap::Result<std::unique_ptr<dmaheap::Client>> client = dmaheap::Client::Open();
  ASSERT_TRUE(client.ok()) << strerror(client.error());
  const std::string serving = dmaheap::BackendName((*client)->backend());
  const char* requested = std::getenv("DMAHEAP_BACKEND");
  if (requested != nullptr) {
    EXPECT_EQ(serving, requested);
  } else {
    EXPECT_TRUE(serving == "kernel" || serving == "daemon" || serving == "embedded") << serving;
  }
  // The client and the allocator see the same heaps.
  const std::vector<std::string> names = (*client)->HeapNames();
  const std::unordered_set<std::string> listed = BufferAllocator::GetDmabufHeapList();
  EXPECT_EQ(std::unordered_set<std::string>(names.begin(), names.end()), listed);
}

// Many threads on one allocator, each allocating (both AllocSystem paths), mapping, writing
// under a bracket, reading back, and closing, all at once. Failures are counted per step and
// checked after the join, so a thread never returns half-way through its bracket.
TEST(DropInConcurrencyTest, ThreadsShareOneAllocator) {
  constexpr int kThreads = 48;
  constexpr int kRounds = 8;
  BufferAllocator allocator;
  std::latch all_started(kThreads);
  std::atomic<int> alloc_failures{0}, map_failures{0}, sync_failures{0}, data_failures{0},
      close_failures{0};

  auto worker = [&](int id) {
    // Wait until every thread exists, so that their calls overlap.
    all_started.arrive_and_wait();
    for (int round = 0; round < kRounds; ++round) {
      const bool cpu_access = (id + round) % 2 == 0;
      const size_t len = kPageSize << (round % 3);
      const int fd = allocator.AllocSystem(cpu_access, len);
      if (fd < 0) {
        ++alloc_failures;
        continue;
      }
      void* addr = mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
      if (addr == MAP_FAILED) {
        ++map_failures;
      } else {
        const uint8_t seed = static_cast<uint8_t>(id * 31 + round);
        if (allocator.CpuSyncStart(fd, kSyncReadWrite) != 0) {
          ++sync_failures;
        } else {
          FillPattern(static_cast<uint8_t*>(addr), len, seed);
          if (PatternMismatch(static_cast<uint8_t*>(addr), len, seed) != len) ++data_failures;
          if (allocator.CpuSyncEnd(fd, kSyncReadWrite) != 0) ++sync_failures;
        }
        if (munmap(addr, len) != 0) ++map_failures;
      }
      if (close(fd) != 0) ++close_failures;
    }
  };

  std::vector<std::thread> threads;
  for (int id = 0; id < kThreads; ++id) threads.emplace_back(worker, id);
  for (std::thread& thread : threads) thread.join();

  EXPECT_EQ(alloc_failures.load(), 0);
  EXPECT_EQ(map_failures.load(), 0);
  EXPECT_EQ(sync_failures.load(), 0);
  // Each thread writes its own seed: a mismatch means two live buffers shared memory.
  EXPECT_EQ(data_failures.load(), 0);
  EXPECT_EQ(close_failures.load(), 0);
}

// The C wrapper (BufferAllocatorWrapper.h), called from C++ here; compat_check.c builds it as C.
class CWrapperTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_NE(allocator_, nullptr); }
  void TearDown() override { FreeDmabufHeapBufferAllocator(allocator_); }

  BufferAllocator* allocator_ = CreateDmabufHeapBufferAllocator();
};

TEST_F(CWrapperTest, CurrentNamesAllocateSyncAndName) {
  UniqueFd by_name(DmabufHeapAlloc2(allocator_, kDmabufSystemHeapName, 64 << 10, 0));
  ASSERT_TRUE(by_name.valid()) << strerror(errno);
  UniqueFd cached(DmabufHeapAllocSystem2(allocator_, true, 64 << 10, 0));
  ASSERT_TRUE(cached.valid()) << strerror(errno);
  UniqueFd uncached(DmabufHeapAllocSystem2(allocator_, false, 64 << 10, 0));
  ASSERT_TRUE(uncached.valid()) << strerror(errno);

  for (const int fd : {by_name.get(), cached.get(), uncached.get()}) {
    SharedMap map(fd, 64 << 10, PROT_READ | PROT_WRITE);
    ASSERT_TRUE(map.mapped()) << strerror(errno);
    ASSERT_EQ(DmabufHeapCpuSyncStart2(allocator_, fd, kSyncReadWrite), 0) << strerror(errno);
    FillPattern(map.bytes(), 64 << 10, 0x21);
    EXPECT_EQ(PatternMismatch(map.bytes(), 64 << 10, 0x21), size_t{64 << 10});
    ASSERT_EQ(DmabufHeapCpuSyncEnd2(allocator_, fd, kSyncReadWrite), 0) << strerror(errno);
    EXPECT_EQ(DmabufSetName(allocator_, fd, "from-the-c-wrapper"), 0) << strerror(errno);
  }
}

// The Android 12 names take the ION-era extra arguments and ignore them; the callback is never
// called on a DMA-BUF heap.
int CountCalls(int /*ion_fd*/, int /*dmabuf_fd*/, void* calls) {
  ++*static_cast<int*>(calls);
  return 0;
}

TEST_F(CWrapperTest, OldNamesForwardAndIgnoreIonArguments) {
  UniqueFd by_name(DmabufHeapAlloc(allocator_, kDmabufSystemHeapName, kPageSize, 0,
                                   /*legacy_align=*/kPageSize));
  ASSERT_TRUE(by_name.valid()) << strerror(errno);
  UniqueFd system(DmabufHeapAllocSystem(allocator_, false, kPageSize, 0, /*legacy_align=*/0));
  ASSERT_TRUE(system.valid()) << strerror(errno);
  EXPECT_EQ(MapDmabufHeapNameToIonHeap(allocator_, "system", "ion_system_heap", 0, 0, 0), 0);

  int calls = 0;
  for (const int fd : {by_name.get(), system.get()}) {
    EXPECT_EQ(DmabufHeapCpuSyncStart(allocator_, fd, kSyncWrite, CountCalls, &calls), 0);
    EXPECT_EQ(DmabufHeapCpuSyncEnd(allocator_, fd, kSyncWrite, CountCalls, &calls), 0);
    EXPECT_EQ(DmabufHeapCpuSyncStart(allocator_, fd, kSyncRead, nullptr, nullptr), 0);
    EXPECT_EQ(DmabufHeapCpuSyncEnd(allocator_, fd, kSyncRead, nullptr, nullptr), 0);
  }
  EXPECT_EQ(calls, 0);
  EXPECT_FALSE(CheckIonSupport());
}

// Errors keep the wrapper's mixed convention: a NULL allocator is -EINVAL (no errno), while
// what BufferAllocator refuses stays -1 with errno.
TEST_F(CWrapperTest, NullAllocatorIsMinusEinval) {
  UniqueFd fd(DmabufHeapAlloc2(allocator_, kDmabufSystemHeapName, kPageSize, 0));
  ASSERT_TRUE(fd.valid()) << strerror(errno);
  const unsigned buffer = static_cast<unsigned>(fd.get());

  EXPECT_EQ(DmabufHeapAlloc2(nullptr, kDmabufSystemHeapName, kPageSize, 0), -EINVAL);
  EXPECT_EQ(DmabufHeapAlloc(nullptr, kDmabufSystemHeapName, kPageSize, 0, 0), -EINVAL);
  EXPECT_EQ(DmabufHeapAllocSystem2(nullptr, true, kPageSize, 0), -EINVAL);
  EXPECT_EQ(DmabufHeapAllocSystem(nullptr, true, kPageSize, 0, 0), -EINVAL);
  EXPECT_EQ(DmabufHeapCpuSyncStart2(nullptr, buffer, kSyncRead), -EINVAL);
  EXPECT_EQ(DmabufHeapCpuSyncEnd2(nullptr, buffer, kSyncRead), -EINVAL);
  EXPECT_EQ(DmabufHeapCpuSyncStart(nullptr, buffer, kSyncRead, nullptr, nullptr), -EINVAL);
  EXPECT_EQ(DmabufHeapCpuSyncEnd(nullptr, buffer, kSyncRead, nullptr, nullptr), -EINVAL);
  EXPECT_EQ(DmabufSetName(nullptr, buffer, "unused"), -EINVAL);

  errno = 0;
  EXPECT_EQ(DmabufHeapAlloc2(allocator_, "there-is-no-such-heap", kPageSize, 0), -1);
  EXPECT_EQ(errno, ENOENT) << strerror(errno);
}

TEST(CWrapperLifetimeTest, ManyAllocatorsCreatedAndFreed) {
  std::vector<BufferAllocator*> allocators;
  for (int i = 0; i < 8; ++i) {
    allocators.push_back(CreateDmabufHeapBufferAllocator());
    ASSERT_NE(allocators.back(), nullptr);
  }
  // Buffers outlive the allocator that made them.
  UniqueFd survivor(DmabufHeapAlloc2(allocators.front(), kDmabufSystemHeapName, kPageSize, 0));
  ASSERT_TRUE(survivor.valid()) << strerror(errno);
  for (BufferAllocator* allocator : allocators) FreeDmabufHeapBufferAllocator(allocator);
  SharedMap map(survivor.get(), kPageSize, PROT_READ);
  ASSERT_TRUE(map.mapped()) << strerror(errno);
  BufferAllocator another;
  size_t dirty_at = 0;
  ASSERT_NO_FATAL_FAILURE(WithCpuAccess(another, survivor.get(), kSyncRead,
                                        [&] { dirty_at = FirstNonZero(map.bytes(), kPageSize); }));
  EXPECT_EQ(dirty_at, kPageSize);
}

}  // namespace
