// libdmabufheap's BufferAllocator over dmaheap::Client (include/BufferAllocator/).
//
// The backend: one Client per allocator for the kernel and the daemon (heap fds and sockets are
// cached in it and closed with the allocator, as libdmabufheap caches heap fds); the embedded
// backend's System is one per process, so every allocator and the static functions see the
// same heaps and buffers.

#include <BufferAllocator/BufferAllocator.h>

#include <errno.h>
#include <linux/dma-buf.h>  // the system UAPI header, as dmabufheap-defs.h includes it
#include <stdio.h>
#include <string.h>

#include <mutex>

#include "dmaheap/client.h"
#include "dmaheap/dmaheap.h"

namespace {

std::shared_ptr<dmaheap::Client> OpenClient() {
  static std::mutex mu;
  static std::shared_ptr<dmaheap::Client> embedded;  // guarded by mu; lives as long as the process
  std::lock_guard lock(mu);
  if (embedded) return embedded;
  dmaheap::Result<std::unique_ptr<dmaheap::Client>> client = dmaheap::Client::Open();
  if (!client.ok()) {
    fprintf(stderr, "libdmabufheap: no DMA-BUF heaps: %s\n", strerror(client.error()));
    return nullptr;
  }
  std::shared_ptr<dmaheap::Client> shared = std::move(client).value();
  if (shared->backend() == dmaheap::Backend::kEmbedded) embedded = shared;
  return shared;
}

// -1 with errno, the libdmabufheap convention.
int Fail(int err) {
  errno = err;
  return -1;
}

int Sync(unsigned int fd, uint64_t flags) {
  dma_buf_sync sync{flags};
  const int rc = dmaheap::BufferIoctl(static_cast<int>(fd), DMA_BUF_IOCTL_SYNC, &sync);
  return rc == 0 ? 0 : Fail(-rc);
}

}  // namespace

BufferAllocator::BufferAllocator() : client_(OpenClient()) {}

BufferAllocator::~BufferAllocator() = default;

int BufferAllocator::MapNameToIonHeap(const std::string&, const std::string&, unsigned int,
                                      unsigned int, unsigned int) {
  return 0;
}

int BufferAllocator::Alloc(const std::string& heap_name, size_t len, unsigned int /*heap_flags*/) {
  if (!client_) return Fail(ENODEV);
  // heap_flags stay 0 on DMA-BUF heaps, as libdmabufheap sends them.
  // Every buffer is named after its heap (through the daemon in the same round trip).
  dmaheap::Result<dmaheap::UniqueFd> fd = client_->AllocateNamed(
      heap_name, len, std::string_view(heap_name).substr(0, 31), O_RDWR | O_CLOEXEC, 0);
  if (!fd.ok()) return Fail(fd.error());
  return fd->release();
}

int BufferAllocator::AllocSystem(bool cpu_access_needed, size_t len, unsigned int heap_flags) {
  // Probed once per process, as libdmabufheap's function-static lambda does.
  static const bool has_uncached = GetDmabufHeapList().count(kDmabufSystemUncachedHeapName) > 0;
  if (!cpu_access_needed && has_uncached) {
    return Alloc(kDmabufSystemUncachedHeapName, len, heap_flags);
  }
  return Alloc(kDmabufSystemHeapName, len, heap_flags);
}

int BufferAllocator::CpuSyncStart(unsigned int dmabuf_fd, SyncType sync_type) {
  return Sync(dmabuf_fd, DMA_BUF_SYNC_START | static_cast<uint64_t>(sync_type));
}

int BufferAllocator::CpuSyncEnd(unsigned int dmabuf_fd, SyncType sync_type) {
  return Sync(dmabuf_fd, DMA_BUF_SYNC_END | static_cast<uint64_t>(sync_type));
}

std::unordered_set<std::string> BufferAllocator::GetDmabufHeapList() {
  std::shared_ptr<dmaheap::Client> client = OpenClient();
  if (!client) return {};
  std::vector<std::string> names = client->HeapNames();
  return std::unordered_set<std::string>(names.begin(), names.end());
}

int BufferAllocator::DmabufSetName(unsigned int dmabuf_fd, const std::string& name) {
  std::shared_ptr<dmaheap::Client> client = OpenClient();
  if (!client) return Fail(ENODEV);
  // dma_buf_set_name would refuse a longer name; libdmabufheap truncates it instead.
  dmaheap::Result<void> r =
      client->SetName(static_cast<int>(dmabuf_fd), std::string_view(name).substr(0, 31));
  return r.ok() ? 0 : Fail(r.error());
}

int BufferAllocator::Alloc(const std::string& heap_name, size_t len, unsigned int heap_flags,
                           size_t /*legacy_align*/) {
  return Alloc(heap_name, len, heap_flags);
}

int BufferAllocator::AllocSystem(bool cpu_access_needed, size_t len, unsigned int heap_flags,
                                 size_t /*legacy_align*/) {
  return AllocSystem(cpu_access_needed, len, heap_flags);
}

int BufferAllocator::CpuSyncStart(unsigned int dmabuf_fd, SyncType sync_type,
                                  const CustomCpuSyncLegacyIon&, void*) {
  return CpuSyncStart(dmabuf_fd, sync_type);
}

int BufferAllocator::CpuSyncEnd(unsigned int dmabuf_fd, SyncType sync_type,
                                const CustomCpuSyncLegacyIon&, void*) {
  return CpuSyncEnd(dmabuf_fd, sync_type);
}

bool BufferAllocator::CheckIonSupport() { return false; }
