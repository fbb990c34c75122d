// dmaheap::Client: one way to reach DMA-BUF heaps on any machine. Backends, chosen in order:
//   kernel    the kernel's own heaps, when /sys/class/dma_heap exists: /dev/dma_heap/<name>
//   daemon    a running dmaheapd, when its heap directory ($DMAHEAP_DIR, else /run/dma_heap for
//             root, else $XDG_RUNTIME_DIR/dma_heap) holds heap sockets
//   embedded  a System booted in this process from a board ($DMAHEAP_BOARD, else "default")
// $DMAHEAP_BACKEND=kernel|daemon|embedded forces one; so does ClientOptions::backend (which wins).
//
// Buffers are fds whichever backend made them: map them with Mapping, bracket CPU access with
// CpuAccess (both in dmaheap.h), pass them to other processes. Thread-safe.
//
// C++17-compatible.
#ifndef DMAHEAP_CLIENT_H
#define DMAHEAP_CLIENT_H

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dmaheap/api.h"
#include "dmaheap/dmaheap.h"

namespace dmaheap {

// The values are the C ABI's DMAHEAP_BACKEND_* (dmaheap/c/dmaheap.h).
enum class Backend { kKernel = 0, kDaemon = 1, kEmbedded = 2 };

// "kernel", "daemon", "embedded".
DMAHEAP_API const char* BackendName(Backend backend);

// True when the running kernel has DMA-BUF heaps: /sys/class/dma_heap exists
// ($DMAHEAP_KERNEL_HEAPS names another directory to look for, for tests).
DMAHEAP_API bool KernelHasHeaps();

struct ClientOptions {
  std::optional<Backend> backend;  // unset: $DMAHEAP_BACKEND, else the first that is there
  std::string board;               // embedded: the board to boot; "" = $DMAHEAP_BOARD or "default"
};

class DMAHEAP_API Client {
 public:
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;
  virtual ~Client();

  // EINVAL for an unknown $DMAHEAP_BACKEND; a forced kernel backend without /dev/dma_heap or a
  // forced daemon backend without a heap directory: ENOENT; embedded: the board's boot errors.
  static Result<std::unique_ptr<Client>> Open(const ClientOptions& options = {});

  virtual Backend backend() const = 0;
  // The heaps, as `ls /dev/dma_heap` would list them (sorted).
  virtual std::vector<std::string> HeapNames() = 0;
  // DMA_HEAP_IOCTL_ALLOC on the heap: the kernel's errnos (EINVAL, ENOMEM); ENOENT for a heap
  // that does not exist; ENODEV when the daemon is gone.
  virtual Result<UniqueFd> Allocate(std::string_view heap, uint64_t len,
                                    uint32_t fd_flags = kDefaultFdFlags,
                                    uint64_t heap_flags = 0) = 0;
  // Allocate, then DMA_BUF_SET_NAME (through the daemon: one round trip). EINVAL, before
  // allocating, for a name of 32 bytes or more. The name is diagnostic only: a buffer whose
  // naming fails (a kernel before 5.7 has no SET_NAME) is still returned, as libdmabufheap does.
  virtual Result<UniqueFd> AllocateNamed(std::string_view heap, uint64_t len,
                                         std::string_view name,
                                         uint32_t fd_flags = kDefaultFdFlags,
                                         uint64_t heap_flags = 0);
  // DMA_BUF_SET_NAME (at most 31 bytes, else EINVAL as the kernel answers).
  virtual Result<void> SetName(int buffer_fd, std::string_view name) = 0;
  // Devices (include/dmaheap/device.h): the board's importers, an importer's attach + map of a
  // buffer, and allocation for a set of devices — from the System booted here or through the
  // daemon's device socket (an attachment then lives as long as this Client). The kernel
  // backend has no importer API in user space (its importers are drivers): EOPNOTSUPP.
  virtual Result<std::vector<DmaDeviceInfo>> Devices();
  // Errors as System::Attach.
  virtual Result<Attachment> Attach(int buffer_fd, std::string_view device,
                                    DmaDataDirection dir = DmaDataDirection::kBidirectional);
  // Errors as System::AllocateFor; `refusal` gets the device and the constraint that failed.
  virtual Result<HeapChoice> AllocateFor(const std::vector<std::string>& devices, uint64_t len,
                                         bool cpu_access = true, std::string* refusal = nullptr);

  // The embedded backend's System (stats, bufinfo, modules); null for the others.
  virtual System* embedded() { return nullptr; }

 protected:
  Client() = default;
};

}  // namespace dmaheap

#endif  // DMAHEAP_CLIENT_H
