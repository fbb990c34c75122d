// Compile compatibility with libdmabufheap's current BufferAllocator.h: every public signature,
// built as C++17 with -Werror and linked against libdmabufheap. Run, it also checks what the
// calls return (on the embedded backend, or whichever DMAHEAP_BACKEND names).
#include <BufferAllocator/BufferAllocator.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <unordered_set>

static int failures = 0;
#define CHECK(cond)                                                        \
  do {                                                                     \
    if (!(cond)) {                                                         \
      std::fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, #cond);      \
      ++failures;                                                          \
    }                                                                      \
  } while (0)

int main() {
  BufferAllocator allocator;
  static_assert(!std::is_copy_constructible<BufferAllocator>::value, "not copyable");
  static_assert(!std::is_copy_assignable<BufferAllocator>::value, "not copyable");

  const std::unordered_set<std::string> heaps = BufferAllocator::GetDmabufHeapList();
  CHECK(heaps.count(kDmabufSystemHeapName) == 1);

  int fd = allocator.Alloc(kDmabufSystemHeapName, 4096);
  CHECK(fd >= 0);
  int fd2 = allocator.Alloc("system", 8192, 0);
  CHECK(fd2 >= 0);
  int fd3 = allocator.AllocSystem(true, 4096);
  CHECK(fd3 >= 0);
  int fd4 = allocator.AllocSystem(false, 4096, 0);
  CHECK(fd4 >= 0);
  CHECK(allocator.CpuSyncStart(fd, kSyncRead) == 0);
  CHECK(allocator.CpuSyncEnd(fd, kSyncRead) == 0);
  CHECK(allocator.CpuSyncStart(fd2, kSyncWrite) == 0);
  CHECK(allocator.CpuSyncEnd(fd2, kSyncWrite) == 0);
  CHECK(allocator.CpuSyncStart(fd3, kSyncReadWrite) == 0);
  CHECK(allocator.CpuSyncEnd(fd3, kSyncReadWrite) == 0);
  CHECK(BufferAllocator::DmabufSetName(fd, "compat-check") == 0);
  // Longer than DMA_BUF_NAME_LEN - 1: truncated, not refused.
  CHECK(BufferAllocator::DmabufSetName(fd, std::string(64, 'n')) == 0);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
  CHECK(allocator.MapNameToIonHeap("system", "ion_system_heap") == 0);
  CHECK(allocator.MapNameToIonHeap("system", "", 0, ~0u, 0) == 0);
#pragma GCC diagnostic pop

  errno = 0;
  CHECK(allocator.Alloc("no-such-heap", 4096) == -1);
  CHECK(errno == ENOENT);
  errno = 0;
  CHECK(allocator.CpuSyncStart(9999, kSyncRead) == -1);
  CHECK(errno == EBADF);

  for (int f : {fd, fd2, fd3, fd4}) CHECK(close(f) == 0);
  std::printf("compat_check: %d failure(s)\n", failures);
  return failures == 0 ? 0 : 1;
}
