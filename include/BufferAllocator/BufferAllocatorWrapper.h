/*
 * libdmabufheap's C wrapper over BufferAllocator (current version: the Android 12 names, which
 * forward to the *2 ones, and the *2 ones). The *2 functions and DmabufSetName return -EINVAL for
 * a NULL allocator; otherwise they return what BufferAllocator returns.
 */
#pragma once

#include <BufferAllocator/dmabufheap-defs.h>

#include <stdbool.h>
#include <stddef.h>

/*
 * C sees an opaque struct; C++ the class BufferAllocator.h defines, declared with the same class
 * key so that a translation unit including both headers draws no -Wmismatched-tags.
 */
#ifdef __cplusplus
class BufferAllocator;
extern "C" {
#else
typedef struct BufferAllocator BufferAllocator;
#endif

/* (void), not (): a prototype in C too, so -Wstrict-prototypes stays quiet. */
BufferAllocator* CreateDmabufHeapBufferAllocator(void);

void FreeDmabufHeapBufferAllocator(BufferAllocator* buffer_allocator);

int DmabufHeapAlloc(BufferAllocator* buffer_allocator, const char* heap_name, size_t len,
                    unsigned int heap_flags, size_t legacy_align);
int DmabufHeapAlloc2(BufferAllocator* buffer_allocator, const char* heap_name, size_t len,
                     unsigned int heap_flags);

int DmabufHeapAllocSystem(BufferAllocator* buffer_allocator, bool cpu_access, size_t len,
                          unsigned int heap_flags, size_t legacy_align);
int DmabufHeapAllocSystem2(BufferAllocator* buffer_allocator, bool cpu_access, size_t len,
                           unsigned int heap_flags);

int MapDmabufHeapNameToIonHeap(BufferAllocator* buffer_allocator, const char* heap_name,
                               const char* ion_heap_name, unsigned int ion_heap_flags,
                               unsigned int legacy_ion_heap_mask, unsigned legacy_ion_heap_flags);

int DmabufHeapCpuSyncStart(BufferAllocator* buffer_allocator, unsigned int dmabuf_fd,
                           SyncType sync_type, int (*legacy_ion_cpu_sync)(int, int, void*),
                           void* legacy_ion_custom_data);
int DmabufHeapCpuSyncStart2(BufferAllocator* buffer_allocator, unsigned int dmabuf_fd,
                            SyncType sync_type);

int DmabufHeapCpuSyncEnd(BufferAllocator* buffer_allocator, unsigned int dmabuf_fd,
                         SyncType sync_type, int (*legacy_ion_cpu_sync)(int, int, void*),
                         void* legacy_ion_custom_data);
int DmabufHeapCpuSyncEnd2(BufferAllocator* buffer_allocator, unsigned int dmabuf_fd,
                          SyncType sync_type);

int DmabufSetName(BufferAllocator* buffer_allocator, unsigned int dmabuf_fd, const char* name);

bool CheckIonSupport(void);

#ifdef __cplusplus
}
#endif
