// Compile compatibility with libdmabufheap's current BufferAllocator.h: every public entry point
// called the way upstream callers call it (Android 12 callers included: CpuSyncStart(fd) with the
// default sync type), built with -Wall -Wextra -Werror as C++17 (dmabufheap_compat_cxx) and C++20
// (dmabufheap_compat_cxx20) and linked against libdmabufheap. The non-deprecated calls sit
// outside any diagnostic pragma: none of them may draw a deprecation (or any other) warning. Run,
// it also checks what the calls return, on whichever backend DMAHEAP_BACKEND names.
#include <BufferAllocator/BufferAllocator.h>
// Both headers in one C++ translation unit, in this order, as the wrapper's own source has them.
#include <BufferAllocator/BufferAllocatorWrapper.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <functional>
#include <memory>
#include <string>
#include <type_traits>
#include <unordered_set>

static int failures = 0;
#define CHECK(cond)                                                        \
  do {                                                                     \
    if (!(cond)) {                                                         \
      std::fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, #cond);      \
      ++failures;                                                          \
    }                                                                      \
  } while (0)

// The class's shape: constructible by default, neither copyable nor movable.
static_assert(std::is_default_constructible<BufferAllocator>::value, "default constructor");
static_assert(!std::is_copy_constructible<BufferAllocator>::value, "not copyable");
static_assert(!std::is_copy_assignable<BufferAllocator>::value, "not copyable");
static_assert(!std::is_move_constructible<BufferAllocator>::value, "not movable");
static_assert(!std::is_move_assignable<BufferAllocator>::value, "not movable");

// The current signatures, by address: taking them must select the non-deprecated overloads
// without a warning.
using AllocFn = int (BufferAllocator::*)(const std::string&, size_t, unsigned int);
using AllocSystemFn = int (BufferAllocator::*)(bool, size_t, unsigned int);
using CpuSyncFn = int (BufferAllocator::*)(unsigned int, SyncType);
static const AllocFn kAlloc = &BufferAllocator::Alloc;
static const AllocSystemFn kAllocSystem = &BufferAllocator::AllocSystem;
static const CpuSyncFn kCpuSyncStart = &BufferAllocator::CpuSyncStart;
static const CpuSyncFn kCpuSyncEnd = &BufferAllocator::CpuSyncEnd;
static std::unordered_set<std::string> (*const kGetDmabufHeapList)() =
        &BufferAllocator::GetDmabufHeapList;
static int (*const kDmabufSetName)(unsigned int, const std::string&) =
        &BufferAllocator::DmabufSetName;

// SyncType and the heap names, as dmabufheap-defs.h spells them.
static_assert(kSyncRead == DMA_BUF_SYNC_READ && kSyncWrite == DMA_BUF_SYNC_WRITE &&
                      kSyncReadWrite == DMA_BUF_SYNC_RW,
              "SyncType is the DMA_BUF_SYNC direction");

static int AllocViaPointers(BufferAllocator& allocator) {
  const int fd = (allocator.*kAlloc)(kDmabufSystemHeapName, 4096, 0);
  CHECK(fd >= 0);
  CHECK((allocator.*kCpuSyncStart)(fd, kSyncWrite) == 0);
  CHECK((allocator.*kCpuSyncEnd)(fd, kSyncWrite) == 0);
  CHECK(kDmabufSetName(fd, "through-a-pointer") == 0);
  const int fd2 = (allocator.*kAllocSystem)(true, 4096, 0);
  CHECK(fd2 >= 0);
  CHECK(kGetDmabufHeapList().count(kDmabufSystemHeapName) == 1);
  return (fd >= 0 && close(fd) != 0) + (fd2 >= 0 && close(fd2) != 0);
}

int main() {
  BufferAllocator allocator;
  auto owned = std::make_unique<BufferAllocator>();  // upstream tests hold one this way

  // The heap list, static and through an instance.
  const std::unordered_set<std::string> heaps = BufferAllocator::GetDmabufHeapList();
  CHECK(heaps.count(kDmabufSystemHeapName) == 1);
  CHECK(owned->GetDmabufHeapList() == heaps);

  // Alloc and AllocSystem with two and three arguments; heap names as std::string, string
  // literals and the defs' constants.
  const int fd = allocator.Alloc(kDmabufSystemHeapName, 4096);
  CHECK(fd >= 0);
  const int fd2 = allocator.Alloc(std::string("system"), 8192, 0);
  CHECK(fd2 >= 0);
  const int fd3 = owned->AllocSystem(true, 4096);
  CHECK(fd3 >= 0);
  const int fd4 = owned->AllocSystem(false, 4096, 0u);
  CHECK(fd4 >= 0);
  static_assert(std::is_same<decltype(allocator.Alloc("system", 1)), int>::value, "an fd");
  static_assert(std::is_same<decltype(allocator.AllocSystem(true, 1)), int>::value, "an fd");

  // CpuSyncStart/End: the Android 12 default (kSyncRead), then every type explicitly, each
  // start paired with its end. A signed fd converts as upstream callers pass it.
  CHECK(allocator.CpuSyncStart(fd) == 0);
  CHECK(allocator.CpuSyncEnd(fd) == 0);
  CHECK(allocator.CpuSyncStart(static_cast<unsigned int>(fd2)) == 0);
  CHECK(allocator.CpuSyncEnd(static_cast<unsigned int>(fd2)) == 0);
  for (const SyncType type : {kSyncRead, kSyncWrite, kSyncReadWrite}) {
    CHECK(allocator.CpuSyncStart(fd3, type) == 0);
    CHECK(allocator.CpuSyncEnd(fd3, type) == 0);
  }
  void* map = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd4, 0);
  CHECK(map != MAP_FAILED);
  if (map != MAP_FAILED) {
    CHECK(owned->CpuSyncStart(fd4, kSyncWrite) == 0);
    std::memset(map, 0x3c, 4096);
    CHECK(owned->CpuSyncEnd(fd4, kSyncWrite) == 0);
    CHECK(owned->CpuSyncStart(fd4) == 0);
    CHECK(static_cast<unsigned char*>(map)[4095] == 0x3c);
    CHECK(owned->CpuSyncEnd(fd4) == 0);
    CHECK(munmap(map, 4096) == 0);
  }

  // DmabufSetName: static, through an instance, and a name longer than DMA_BUF_NAME_LEN - 1
  // (truncated, not refused).
  CHECK(BufferAllocator::DmabufSetName(fd, "compat-check") == 0);
  CHECK(allocator.DmabufSetName(fd2, std::string("compat-check-2")) == 0);
  CHECK(BufferAllocator::DmabufSetName(fd, std::string(64, 'n')) == 0);

  failures += AllocViaPointers(allocator);

  // The ION-era overloads, as Android 12 callers wrote them: deprecated, so only here.
  int callback_calls = 0;
  const BufferAllocator::CustomCpuSyncLegacyIon count_calls = [&](int, int, void*) {
    ++callback_calls;
    return 0;
  };
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  CHECK(allocator.MapNameToIonHeap("system", "ion_system_heap") == 0);
  CHECK(allocator.MapNameToIonHeap("system", "", 0, ~0u, 0) == 0);
  CHECK(allocator.MapNameToIonHeap("system-uncached", "", 0, ~0u) == 0);
  const int legacy_fd = allocator.Alloc("system", 4096, 0, 4096);
  CHECK(legacy_fd >= 0);
  const int legacy_fd2 = allocator.AllocSystem(false, 4096, 0, 0);
  CHECK(legacy_fd2 >= 0);
  CHECK(allocator.CpuSyncStart(legacy_fd, kSyncWrite, count_calls) == 0);
  CHECK(allocator.CpuSyncEnd(legacy_fd, kSyncWrite, count_calls) == 0);
  CHECK(allocator.CpuSyncStart(legacy_fd2, kSyncRead, count_calls, &callback_calls) == 0);
  CHECK(allocator.CpuSyncEnd(legacy_fd2, kSyncRead, count_calls, &callback_calls) == 0);
  CHECK(allocator.CpuSyncStart(legacy_fd2, kSyncReadWrite, nullptr) == 0);
  CHECK(allocator.CpuSyncEnd(legacy_fd2, kSyncReadWrite, nullptr) == 0);
  CHECK(!BufferAllocator::CheckIonSupport());
#pragma GCC diagnostic pop
  CHECK(callback_calls == 0);  // DMA-BUF heaps never call the ION callback

  // Errors: -1 with errno.
  errno = 0;
  CHECK(allocator.Alloc("no-such-heap", 4096) == -1);
  CHECK(errno == ENOENT);
  errno = 0;
  CHECK(allocator.Alloc(kDmabufSystemHeapName, 0) == -1);
  CHECK(errno == EINVAL);
  errno = 0;
  CHECK(allocator.CpuSyncStart(9999) == -1);
  CHECK(errno == EBADF);

  // The C wrapper from C++, next to the class (compat_check.c covers it as C).
  BufferAllocator* wrapped = CreateDmabufHeapBufferAllocator();
  CHECK(wrapped != nullptr);
  const int c_fd = DmabufHeapAlloc2(wrapped, kDmabufSystemHeapName, 4096, 0);
  CHECK(c_fd >= 0);
  CHECK(DmabufHeapCpuSyncStart2(wrapped, c_fd, kSyncRead) == 0);
  CHECK(DmabufHeapCpuSyncEnd2(wrapped, c_fd, kSyncRead) == 0);
  CHECK(!CheckIonSupport());
  FreeDmabufHeapBufferAllocator(wrapped);

  for (int f : {fd, fd2, fd3, fd4, legacy_fd, legacy_fd2, c_fd}) CHECK(f < 0 || close(f) == 0);
  std::printf("compat_check (C++%ld): %d failure(s)\n", (__cplusplus / 100) % 100, failures);
  return failures == 0 ? 0 : 1;
}
