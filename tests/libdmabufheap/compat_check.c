/* Compile compatibility with libdmabufheap's C wrapper: every function of
 * BufferAllocatorWrapper.h, the Android 12 names and the *2 names, built as C with -Wall -Wextra
 * -Wstrict-prototypes -Werror and linked against libdmabufheap; run, it checks their results. */
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

/* The signatures, checked by assigning each function to a pointer of the exact type. */
static BufferAllocator* (*const create_fn)(void) = CreateDmabufHeapBufferAllocator;
static void (*const free_fn)(BufferAllocator*) = FreeDmabufHeapBufferAllocator;
static int (*const alloc_fn)(BufferAllocator*, const char*, size_t, unsigned int, size_t) =
    DmabufHeapAlloc;
static int (*const alloc2_fn)(BufferAllocator*, const char*, size_t, unsigned int) =
    DmabufHeapAlloc2;
static int (*const alloc_system_fn)(BufferAllocator*, bool, size_t, unsigned int, size_t) =
    DmabufHeapAllocSystem;
static int (*const alloc_system2_fn)(BufferAllocator*, bool, size_t, unsigned int) =
    DmabufHeapAllocSystem2;
static int (*const map_name_fn)(BufferAllocator*, const char*, const char*, unsigned int,
                                unsigned int, unsigned int) = MapDmabufHeapNameToIonHeap;
static int (*const sync_start_fn)(BufferAllocator*, unsigned int, SyncType,
                                  int (*)(int, int, void*), void*) = DmabufHeapCpuSyncStart;
static int (*const sync_end_fn)(BufferAllocator*, unsigned int, SyncType,
                                int (*)(int, int, void*), void*) = DmabufHeapCpuSyncEnd;
static int (*const sync_start2_fn)(BufferAllocator*, unsigned int, SyncType) =
    DmabufHeapCpuSyncStart2;
static int (*const sync_end2_fn)(BufferAllocator*, unsigned int, SyncType) =
    DmabufHeapCpuSyncEnd2;
static int (*const set_name_fn)(BufferAllocator*, unsigned int, const char*) = DmabufSetName;
static bool (*const check_ion_fn)(void) = CheckIonSupport;

static int Callback(int ion_fd, int dmabuf_fd, void* data) {
  (void)ion_fd;
  (void)dmabuf_fd;
  ++*(int*)data;
  return 0;
}

/* Writes a byte pattern through a read-write mapping inside a kSyncReadWrite bracket and reads
 * it back; 0 when every byte matched. */
static int WriteAndVerify(BufferAllocator* ba, int fd, size_t len) {
  unsigned char* p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  CHECK(p != MAP_FAILED);
  if (p == MAP_FAILED) return 1;
  int wrong = 0;
  CHECK(DmabufHeapCpuSyncStart2(ba, (unsigned)fd, kSyncReadWrite) == 0);
  for (size_t i = 0; i < len; ++i) p[i] = (unsigned char)(i * 7);
  for (size_t i = 0; i < len; ++i) wrong += p[i] != (unsigned char)(i * 7);
  CHECK(DmabufHeapCpuSyncEnd2(ba, (unsigned)fd, kSyncReadWrite) == 0);
  CHECK(munmap(p, len) == 0);
  return wrong;
}

int main(void) {
  BufferAllocator* ba = CreateDmabufHeapBufferAllocator();
  CHECK(ba != NULL);
  BufferAllocator* ba2 = create_fn();
  CHECK(ba2 != NULL);
  int calls = 0;

  /* Allocation: every name, both AllocSystem answers. */
  int fds[10];
  int n = 0;
  fds[n++] = DmabufHeapAlloc(ba, kDmabufSystemHeapName, 1 << 20, 0, 0);
  fds[n++] = DmabufHeapAlloc2(ba, "system", 4096, 0);
  fds[n++] = DmabufHeapAllocSystem(ba, true, 4096, 0, 0);
  fds[n++] = DmabufHeapAllocSystem(ba, false, 4096, 0, 4096);
  fds[n++] = DmabufHeapAllocSystem2(ba, true, 8192, 0);
  fds[n++] = DmabufHeapAllocSystem2(ba, false, 8192, 0);
  fds[n++] = alloc_fn(ba2, kDmabufSystemHeapName, 4096, 0, 0);
  fds[n++] = alloc2_fn(ba2, kDmabufSystemHeapName, 4096, 0);
  fds[n++] = alloc_system_fn(ba2, true, 4096, 0, 0);
  fds[n++] = alloc_system2_fn(ba2, false, 4096, 0);
  for (int i = 0; i < n; ++i) CHECK(fds[i] >= 0);
  CHECK(WriteAndVerify(ba, fds[0], 1 << 20) == 0);
  CHECK(WriteAndVerify(ba, fds[5], 8192) == 0);

  /* The ION-era calls: accepted and ignored; the callback is never called on DMA-BUF heaps. */
  CHECK(MapDmabufHeapNameToIonHeap(ba, "system", "", 0, ~0u, 0) == 0);
  CHECK(map_name_fn(ba, "system-uncached", "ion_system_heap", 0, 0, 0) == 0);
  CHECK(DmabufHeapCpuSyncStart(ba, fds[1], kSyncWrite, Callback, &calls) == 0);
  CHECK(DmabufHeapCpuSyncEnd(ba, fds[1], kSyncWrite, Callback, &calls) == 0);
  CHECK(sync_start_fn(ba, fds[2], kSyncRead, NULL, NULL) == 0);
  CHECK(sync_end_fn(ba, fds[2], kSyncRead, NULL, NULL) == 0);
  CHECK(calls == 0);
  CHECK(!CheckIonSupport());
  CHECK(!check_ion_fn());

  /* The *2 sync calls, every type, each start paired with its end. */
  const SyncType types[] = {kSyncRead, kSyncWrite, kSyncReadWrite};
  for (int i = 0; i < 3; ++i) {
    CHECK(DmabufHeapCpuSyncStart2(ba, fds[3], types[i]) == 0);
    CHECK(DmabufHeapCpuSyncEnd2(ba, fds[3], types[i]) == 0);
    CHECK(sync_start2_fn(ba2, fds[4], types[i]) == 0);
    CHECK(sync_end2_fn(ba2, fds[4], types[i]) == 0);
  }

  /* Names: up to 31 characters kept, longer truncated. */
  CHECK(DmabufSetName(ba, fds[1], "c-wrapper") == 0);
  CHECK(set_name_fn(ba2, fds[1], "a-name-of-more-than-thirty-one-characters") == 0);

  /* Errors from BufferAllocator stay -1 with errno. */
  errno = 0;
  CHECK(DmabufHeapAlloc2(ba, "no-such-heap", 4096, 0) == -1 && errno == ENOENT);
  errno = 0;
  CHECK(DmabufHeapAlloc2(ba, kDmabufSystemHeapName, 0, 0) == -1 && errno == EINVAL);

  /* A NULL allocator: -EINVAL from the *2 functions and DmabufSetName, and from the old names
   * that forward to them. */
  const unsigned fd = (unsigned)fds[0];
  CHECK(DmabufHeapAlloc2(NULL, "system", 4096, 0) == -EINVAL);
  CHECK(DmabufHeapAlloc(NULL, "system", 4096, 0, 0) == -EINVAL);
  CHECK(DmabufHeapAllocSystem2(NULL, true, 4096, 0) == -EINVAL);
  CHECK(DmabufHeapAllocSystem(NULL, false, 4096, 0, 0) == -EINVAL);
  CHECK(DmabufHeapCpuSyncStart2(NULL, fd, kSyncRead) == -EINVAL);
  CHECK(DmabufHeapCpuSyncEnd2(NULL, fd, kSyncRead) == -EINVAL);
  CHECK(DmabufHeapCpuSyncStart(NULL, fd, kSyncRead, Callback, &calls) == -EINVAL);
  CHECK(DmabufHeapCpuSyncEnd(NULL, fd, kSyncRead, Callback, &calls) == -EINVAL);
  CHECK(DmabufSetName(NULL, fd, "x") == -EINVAL);

  for (int i = 0; i < n; ++i) CHECK(fds[i] < 0 || close(fds[i]) == 0);
  FreeDmabufHeapBufferAllocator(ba);
  free_fn(ba2);
  printf("compat_check_c: %d failure(s)\n", failures);
  return failures == 0 ? 0 : 1;
}
