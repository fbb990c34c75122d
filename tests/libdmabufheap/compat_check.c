/* Compile compatibility with libdmabufheap's C wrapper: the Android 12 names and the *2 names,
 * built as C with -Werror and linked against libdmabufheap; run, it checks their results. */
#include <BufferAllocator/BufferAllocatorWrapper.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static int failures = 0;
#define CHECK(cond)                                                   \
  do {                                                                \
    if (!(cond)) {                                                    \
      fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__, #cond);      \
      ++failures;                                                     \
    }                                                                 \
  } while (0)

static int Callback(int ion_fd, int dmabuf_fd, void* data) {
  (void)ion_fd;
  (void)dmabuf_fd;
  ++*(int*)data;
  return 0;
}

int main(void) {
  BufferAllocator* ba = CreateDmabufHeapBufferAllocator();
  CHECK(ba != NULL);
  int calls = 0;
  int fd = DmabufHeapAlloc(ba, kDmabufSystemHeapName, 1 << 20, 0, 0);
  CHECK(fd >= 0);
  int fd2 = DmabufHeapAlloc2(ba, "system", 4096, 0);
  CHECK(fd2 >= 0);
  int fd3 = DmabufHeapAllocSystem(ba, true, 4096, 0, 0);
  CHECK(fd3 >= 0);
  int fd4 = DmabufHeapAllocSystem2(ba, false, 4096, 0);
  CHECK(fd4 >= 0);
  CHECK(MapDmabufHeapNameToIonHeap(ba, "system", "", 0, ~0u, 0) == 0);
  CHECK(DmabufHeapCpuSyncStart(ba, fd, kSyncReadWrite, Callback, &calls) == 0);
  unsigned char* p = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  CHECK(p != MAP_FAILED);
  if (p != MAP_FAILED) {
    int wrong = 0;
    for (int i = 0; i < (1 << 20); ++i) p[i] = (unsigned char)(i & 0xff);
    for (int i = 0; i < (1 << 20); ++i) wrong += p[i] != (unsigned char)(i & 0xff);
    CHECK(wrong == 0);
    munmap(p, 1 << 20);
  }
  CHECK(DmabufHeapCpuSyncEnd(ba, fd, kSyncReadWrite, Callback, &calls) == 0);
  CHECK(calls == 0); /* the ION callback is never called on DMA-BUF heaps */
  CHECK(DmabufHeapCpuSyncStart2(ba, fd2, kSyncRead) == 0);
  CHECK(DmabufHeapCpuSyncEnd2(ba, fd2, kSyncRead) == 0);
  CHECK(DmabufSetName(ba, fd2, "c-wrapper") == 0);
  CHECK(!CheckIonSupport());

  /* A NULL allocator: -EINVAL from the *2 functions and DmabufSetName, and from the old names
   * that forward to them. */
  CHECK(DmabufHeapAlloc2(NULL, "system", 4096, 0) == -EINVAL);
  CHECK(DmabufHeapAlloc(NULL, "system", 4096, 0, 0) == -EINVAL);
  CHECK(DmabufHeapAllocSystem2(NULL, true, 4096, 0) == -EINVAL);
  CHECK(DmabufHeapCpuSyncStart2(NULL, (unsigned)fd, kSyncRead) == -EINVAL);
  CHECK(DmabufHeapCpuSyncEnd2(NULL, (unsigned)fd, kSyncRead) == -EINVAL);
  CHECK(DmabufSetName(NULL, (unsigned)fd, "x") == -EINVAL);

  CHECK(close(fd) == 0 && close(fd2) == 0 && close(fd3) == 0 && close(fd4) == 0);
  FreeDmabufHeapBufferAllocator(ba);
  printf("compat_check_c: %d failure(s)\n", failures);
  return failures == 0 ? 0 : 1;
}
