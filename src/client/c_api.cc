// The C ABI over the C++ API: 0 / -errno, no exception crosses it (R9).

#include "dmaheap/c/dmaheap.h"

#include <cerrno>
#include <cstring>
#include <exception>
#include <new>
#include <string>
#include <vector>

#include "dmaheap/client.h"
#include "dmaheap/dmaheap.h"
#include "dmaheap/uapi/linux/dma-buf.h"
#include "dmaheap/version.h"

struct dmaheap_system {
  std::unique_ptr<dmaheap::System> system;
};

struct dmaheap_client {
  std::unique_ptr<dmaheap::Client> client;
};

struct dmaheap_attachment {
  dmaheap::Attachment attachment;
};

static_assert(static_cast<int>(dmaheap::Backend::kKernel) == DMAHEAP_BACKEND_KERNEL);
static_assert(static_cast<int>(dmaheap::Backend::kDaemon) == DMAHEAP_BACKEND_DAEMON);
static_assert(static_cast<int>(dmaheap::Backend::kEmbedded) == DMAHEAP_BACKEND_EMBEDDED);

namespace {

// Runs `body`, turning an escaping exception into -ENOMEM (allocation) or -EIO.
template <typename F>
int Guard(F&& body) noexcept {
  try {
    return body();
  } catch (const std::bad_alloc&) {
    return -ENOMEM;
  } catch (...) {
    return -EIO;
  }
}

// names[index] NUL-terminated into name[len]: -ENOENT past the end, -ERANGE when it does not fit.
int CopyName(const std::vector<std::string>& names, size_t index, char* name, size_t len) {
  if (index >= names.size()) return -ENOENT;
  if (names[index].size() + 1 > len) return -ERANGE;
  std::memcpy(name, names[index].c_str(), names[index].size() + 1);
  return 0;
}

int Sync(int fd, uint64_t direction, uint64_t phase) noexcept {
  dma_buf_sync sync{direction | phase};
  return dmaheap::BufferIoctl(fd, DMA_BUF_IOCTL_SYNC, &sync);
}

}  // namespace

extern "C" {

const char* dmaheap_version(void) noexcept { return DMAHEAP_VERSION_STRING; }
int dmaheap_version_number(void) noexcept { return DMAHEAP_VERSION; }

int dmaheap_system_boot(uint64_t ram_bytes, dmaheap_system** out) noexcept {
  if (out == nullptr) return -EINVAL;
  return Guard([&] {
    dmaheap::BootOptions options;
    options.ram_bytes = ram_bytes;
    auto sys = dmaheap::System::Boot(options);
    if (!sys.ok()) return -sys.error();
    *out = new dmaheap_system{std::move(sys).value()};
    return 0;
  });
}

int dmaheap_system_boot_board(const char* board, dmaheap_system** out) noexcept {
  if (board == nullptr || out == nullptr) return -EINVAL;
  return Guard([&] {
    dmaheap::BootOptions options;
    options.board = board;
    auto sys = dmaheap::System::Boot(options);
    if (!sys.ok()) return -sys.error();
    *out = new dmaheap_system{std::move(sys).value()};
    return 0;
  });
}

void dmaheap_system_destroy(dmaheap_system* sys) noexcept { delete sys; }

int dmaheap_heap_count(dmaheap_system* sys, size_t* count) noexcept {
  if (sys == nullptr || count == nullptr) return -EINVAL;
  return Guard([&] {
    *count = sys->system->HeapNames().size();
    return 0;
  });
}

int dmaheap_heap_name(dmaheap_system* sys, size_t index, char* name, size_t len) noexcept {
  if (sys == nullptr || name == nullptr) return -EINVAL;
  return Guard([&] { return CopyName(sys->system->HeapNames(), index, name, len); });
}

int dmaheap_alloc(dmaheap_system* sys, const char* heap, uint64_t len, uint32_t fd_flags,
                  uint64_t heap_flags, int* out_fd) noexcept {
  if (sys == nullptr || heap == nullptr || out_fd == nullptr) return -EINVAL;
  return Guard([&] {
    auto fd = sys->system->Allocate(heap, len, fd_flags, heap_flags);
    if (!fd.ok()) return -fd.error();
    *out_fd = fd->release();
    return 0;
  });
}

int dmaheap_heap_ioctl(dmaheap_system* sys, const char* heap, unsigned long cmd,
                       void* arg) noexcept {
  if (sys == nullptr || heap == nullptr) return -EINVAL;
  return Guard([&] {
    auto handle = sys->system->FindHeap(heap);
    if (!handle.ok()) return -handle.error();
    return sys->system->HeapIoctl(*handle, cmd, arg);
  });
}

int dmaheap_buffer_ioctl(int fd, unsigned long cmd, void* arg) noexcept {
  return Guard([&] { return dmaheap::BufferIoctl(fd, cmd, arg); });
}

int dmaheap_cpu_access_begin(int fd, uint64_t direction) noexcept {
  return Guard([&] { return Sync(fd, direction, DMA_BUF_SYNC_START); });
}

int dmaheap_cpu_access_end(int fd, uint64_t direction) noexcept {
  return Guard([&] { return Sync(fd, direction, DMA_BUF_SYNC_END); });
}

int dmaheap_drain(dmaheap_system* sys) noexcept {
  if (sys == nullptr) return -EINVAL;
  return Guard([&] {
    sys->system->Drain();
    return 0;
  });
}

int dmaheap_memory(dmaheap_system* sys, uint64_t* total_pages, uint64_t* free_pages) noexcept {
  if (sys == nullptr || total_pages == nullptr || free_pages == nullptr) return -EINVAL;
  return Guard([&] {
    dmaheap::MemoryStats stats = sys->system->Stats();
    *total_pages = stats.total_pages;
    *free_pages = stats.free_pages;
    return 0;
  });
}

int dmaheap_bufinfo(dmaheap_system* sys, char* buf, size_t len, size_t* needed) noexcept {
  if (sys == nullptr || needed == nullptr) return -EINVAL;
  return Guard([&] {
    std::string text = sys->system->BufInfo();
    *needed = text.size() + 1;
    if (buf == nullptr || len < text.size() + 1) return -ERANGE;
    std::memcpy(buf, text.c_str(), text.size() + 1);
    return 0;
  });
}

int dmaheap_client_open(int backend, const char* board, dmaheap_client** out) noexcept {
  if (out == nullptr || backend < DMAHEAP_BACKEND_AUTO || backend > DMAHEAP_BACKEND_EMBEDDED)
    return -EINVAL;
  return Guard([&] {
    dmaheap::ClientOptions options;
    if (backend != DMAHEAP_BACKEND_AUTO) options.backend = static_cast<dmaheap::Backend>(backend);
    if (board != nullptr) options.board = board;
    auto client = dmaheap::Client::Open(options);
    if (!client.ok()) return -client.error();
    *out = new dmaheap_client{std::move(client).value()};
    return 0;
  });
}

void dmaheap_client_close(dmaheap_client* client) noexcept { delete client; }

int dmaheap_client_backend(dmaheap_client* client) noexcept {
  if (client == nullptr) return -EINVAL;
  return static_cast<int>(client->client->backend());
}

int dmaheap_client_heap_count(dmaheap_client* client, size_t* count) noexcept {
  if (client == nullptr || count == nullptr) return -EINVAL;
  return Guard([&] {
    *count = client->client->HeapNames().size();
    return 0;
  });
}

int dmaheap_client_heap_name(dmaheap_client* client, size_t index, char* name,
                             size_t len) noexcept {
  if (client == nullptr || name == nullptr) return -EINVAL;
  return Guard([&] { return CopyName(client->client->HeapNames(), index, name, len); });
}

int dmaheap_client_alloc(dmaheap_client* client, const char* heap, uint64_t len,
                         uint32_t fd_flags, uint64_t heap_flags, int* out_fd) noexcept {
  if (client == nullptr || heap == nullptr || out_fd == nullptr) return -EINVAL;
  return Guard([&] {
    auto fd = client->client->Allocate(heap, len, fd_flags, heap_flags);
    if (!fd.ok()) return -fd.error();
    *out_fd = fd->release();
    return 0;
  });
}

int dmaheap_client_set_name(dmaheap_client* client, int fd, const char* name) noexcept {
  if (client == nullptr || name == nullptr) return -EINVAL;
  return Guard([&] { return dmaheap::ToNegErrno(client->client->SetName(fd, name)); });
}

int dmaheap_client_attach(dmaheap_client* client, int buffer_fd, const char* device, int dir,
                          dmaheap_attachment** out) noexcept {
  if (client == nullptr || device == nullptr || out == nullptr || dir < 0 || dir > 2)
    return -EINVAL;
  return Guard([&] {
    auto a = client->client->Attach(buffer_fd, device, static_cast<dmaheap::DmaDataDirection>(dir));
    if (!a.ok()) return -a.error();
    *out = new dmaheap_attachment{std::move(a).value()};
    return 0;
  });
}

size_t dmaheap_attachment_segments(const dmaheap_attachment* attachment,
                                   dmaheap_dma_segment* segments, size_t max) noexcept {
  if (attachment == nullptr) return 0;
  const std::vector<dmaheap::DmaSegment>& s = attachment->attachment.segments();
  for (size_t i = 0; i < s.size() && i < max && segments != nullptr; ++i)
    segments[i] = dmaheap_dma_segment{s[i].address, s[i].length};
  return s.size();
}

void dmaheap_attachment_detach(dmaheap_attachment* attachment) noexcept { delete attachment; }

int dmaheap_client_alloc_for(dmaheap_client* client, const char* const* devices, size_t count,
                             uint64_t len, int cpu_access, int* out_fd, char* heap,
                             size_t heap_len) noexcept {
  if (client == nullptr || devices == nullptr || out_fd == nullptr) return -EINVAL;
  return Guard([&] {
    std::vector<std::string> names;
    for (size_t i = 0; i < count; ++i) {
      if (devices[i] == nullptr) return -EINVAL;
      names.emplace_back(devices[i]);
    }
    auto choice = client->client->AllocateFor(names, len, cpu_access != 0);
    if (!choice.ok()) return -choice.error();
    if (heap != nullptr && heap_len > 0) {
      const size_t n = std::min(heap_len - 1, choice->heap.size());
      std::memcpy(heap, choice->heap.data(), n);
      heap[n] = '\0';
    }
    *out_fd = choice->fd.release();
    return 0;
  });
}

}  // extern "C"
