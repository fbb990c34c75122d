// libdmabufheap's C wrapper (include/BufferAllocator/BufferAllocatorWrapper.h). The Android 12
// names forward to the *2 ones; a NULL allocator is -EINVAL.

#include <BufferAllocator/BufferAllocator.h>
#include <BufferAllocator/BufferAllocatorWrapper.h>

#include <errno.h>

#include <new>

extern "C" {

BufferAllocator* CreateDmabufHeapBufferAllocator() { return new (std::nothrow) BufferAllocator(); }

void FreeDmabufHeapBufferAllocator(BufferAllocator* buffer_allocator) { delete buffer_allocator; }

int DmabufHeapAlloc2(BufferAllocator* buffer_allocator, const char* heap_name, size_t len,
                     unsigned int heap_flags) {
  if (buffer_allocator == nullptr || heap_name == nullptr) return -EINVAL;
  return buffer_allocator->Alloc(heap_name, len, heap_flags);
}

int DmabufHeapAlloc(BufferAllocator* buffer_allocator, const char* heap_name, size_t len,
                    unsigned int heap_flags, size_t /*legacy_align*/) {
  return DmabufHeapAlloc2(buffer_allocator, heap_name, len, heap_flags);
}

int DmabufHeapAllocSystem2(BufferAllocator* buffer_allocator, bool cpu_access, size_t len,
                           unsigned int heap_flags) {
  if (buffer_allocator == nullptr) return -EINVAL;
  return buffer_allocator->AllocSystem(cpu_access, len, heap_flags);
}

int DmabufHeapAllocSystem(BufferAllocator* buffer_allocator, bool cpu_access, size_t len,
                          unsigned int heap_flags, size_t /*legacy_align*/) {
  return DmabufHeapAllocSystem2(buffer_allocator, cpu_access, len, heap_flags);
}

int MapDmabufHeapNameToIonHeap(BufferAllocator* buffer_allocator, const char*, const char*,
                               unsigned int, unsigned int, unsigned) {
  return buffer_allocator == nullptr ? -EINVAL : 0;
}

int DmabufHeapCpuSyncStart2(BufferAllocator* buffer_allocator, unsigned int dmabuf_fd,
                            SyncType sync_type) {
  if (buffer_allocator == nullptr) return -EINVAL;
  return buffer_allocator->CpuSyncStart(dmabuf_fd, sync_type);
}

int DmabufHeapCpuSyncStart(BufferAllocator* buffer_allocator, unsigned int dmabuf_fd,
                           SyncType sync_type, int (*)(int, int, void*), void*) {
  return DmabufHeapCpuSyncStart2(buffer_allocator, dmabuf_fd, sync_type);
}

int DmabufHeapCpuSyncEnd2(BufferAllocator* buffer_allocator, unsigned int dmabuf_fd,
                          SyncType sync_type) {
  if (buffer_allocator == nullptr) return -EINVAL;
  return buffer_allocator->CpuSyncEnd(dmabuf_fd, sync_type);
}

int DmabufHeapCpuSyncEnd(BufferAllocator* buffer_allocator, unsigned int dmabuf_fd,
                         SyncType sync_type, int (*)(int, int, void*), void*) {
  return DmabufHeapCpuSyncEnd2(buffer_allocator, dmabuf_fd, sync_type);
}

int DmabufSetName(BufferAllocator* buffer_allocator, unsigned int dmabuf_fd, const char* name) {
  if (buffer_allocator == nullptr || name == nullptr) return -EINVAL;
  return BufferAllocator::DmabufSetName(dmabuf_fd, name);
}

bool CheckIonSupport() { return false; }

}  // extern "C"
