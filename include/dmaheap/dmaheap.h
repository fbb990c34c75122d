// dmaheap's public C++ API: boot a System (modelled RAM + heaps) in-process, allocate buffers as
// real fds with the Linux DMA-BUF heap rules, map them, and bracket CPU access.
//
// C++17-compatible. Buffers are plain fds: pass them to other processes (SCM_RIGHTS, fork),
// mmap them, close them; a buffer's memory goes back to its heap when its last fd and last
// mapping are gone, in every process.
#ifndef DMAHEAP_DMAHEAP_H
#define DMAHEAP_DMAHEAP_H

#include <fcntl.h>
#include <sys/mman.h>

#include <array>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "dmaheap/api.h"
#include "dmaheap/device.h"
#include "dmaheap/result.h"
#include "dmaheap/unique_fd.h"

namespace dmaheap {

class SystemCore;
class DmaHeap;

// The fd_flags libdmabufheap and the kernel selftest use.
inline constexpr uint32_t kDefaultFdFlags = O_RDWR | O_CLOEXEC;

struct BootOptions {
  // A board (NAME on $DMAHEAP_BOARD_PATH then dmaheap/boards beside libdmaheap.so, or a path to
  // a .dtb): its RAM, reserved memory and modules.load replace the three fields below. Empty:
  // boot from those fields, with no reserved memory.
  std::string board;
  uint64_t ram_bytes = uint64_t{4} << 30;  // modelled RAM; page-aligned
  uint64_t ram_base = 0x40000000;          // modelled physical address of RAM; page-aligned
  // Heap modules to load at boot (modprobe by name: $DMAHEAP_MODULE_PATH, then
  // dmaheap/modules beside libdmaheap.so).
  std::vector<std::string> modules = {"system_heap"};
};

struct HeapStats {
  std::string name;
  uint64_t live_buffers = 0;
  uint64_t live_bytes = 0;
  uint64_t peak_bytes = 0;   // high-water mark of live_bytes
  uint64_t allocations = 0;  // successful ALLOCs
  uint64_t failures = 0;     // ALLOCs the heap refused (ENOMEM, ...)
  bool contiguous = false;   // every buffer is one contiguous range (CMA, carveout)
  bool cached = true;        // CPU mappings are cached
  uint64_t max_size = 0;     // the largest buffer it can ever give; 0 = bounded by memory
};

// Modelled memory after all queued releases were processed.
// One CMA area, as /sys/kernel/debug/cma/<name>/ shows it (counts in pages).
struct CmaAreaStats {
  std::string name;
  uint64_t base_pfn = 0;
  uint64_t count = 0;
  unsigned order_per_bit = 0;
  uint64_t used = 0;
  uint64_t maxchunk = 0;  // the largest free run
  bool is_default = false;
};

struct MemoryStats {
  uint64_t total_pages = 0;  // RAM, reserved memory included
  uint64_t free_pages = 0;   // free in the buddy allocator (reserved memory never is)
  std::array<uint64_t, 11> free_blocks{};  // per buddy order 0..10, like /proc/buddyinfo
  std::vector<HeapStats> heaps;
  std::vector<CmaAreaStats> cma;  // in boot order
  std::vector<DmaDeviceInfo> devices;  // with their DMA counters
  uint64_t swiotlb_slots = 0;          // the swiotlb pool (2 KiB slots; 0 = none)
  uint64_t swiotlb_used = 0;
};

// A registered heap of one System; valid while the System lives.
class DMAHEAP_API HeapHandle {
 public:
  const std::string& name() const;

 private:
  friend class System;
  explicit HeapHandle(DmaHeap* heap) : heap_(heap) {}
  DmaHeap* heap_;
};

class DMAHEAP_API System {
 public:
  System(const System&) = delete;
  System& operator=(const System&) = delete;
  ~System();

  // Boots modelled RAM and the heaps: a board's (options.board), else options.modules on
  // options.ram_bytes. EINVAL for empty or unaligned RAM; a board's errors (see BootOptions).
  static Result<std::unique_ptr<System>> Boot(const BootOptions& options = {});

  std::vector<std::string> HeapNames() const;
  // ENOENT for a heap this System does not have.
  Result<HeapHandle> FindHeap(std::string_view name) const;

  // DMA_HEAP_IOCTL_ALLOC: len is rounded up to whole pages. EINVAL for fd_flags outside
  // O_CLOEXEC|O_ACCMODE, heap_flags != 0 or a zero length; ENOMEM when the heap cannot hold it;
  // ENOENT for an unknown heap name; ENODEV in a forked child (boot a System there instead).
  Result<UniqueFd> Allocate(HeapHandle heap, uint64_t len, uint32_t fd_flags = kDefaultFdFlags,
                            uint64_t heap_flags = 0);
  Result<UniqueFd> Allocate(std::string_view heap, uint64_t len,
                            uint32_t fd_flags = kDefaultFdFlags, uint64_t heap_flags = 0);

  // Any ioctl on the heap exactly as on /dev/dma_heap/<name>: `arg` is read and written with the
  // kernel's size rules; a bad pointer gives EFAULT. Returns 0 or -errno.
  int HeapIoctl(HeapHandle heap, unsigned long cmd, void* arg) noexcept;

  // Returns once every release already queued (last close / munmap that has returned, in any
  // process) has been processed. Tests use it instead of sleeping.
  void Drain();

  MemoryStats Stats();

  // The board's devices, with their constraints and DMA counters.
  std::vector<DmaDeviceInfo> Devices();
  // An importer's attach + map of `buffer_fd` for `device`, with the kernel's rules: EBADF (not
  // an fd), EINVAL (not a buffer of this System, or a contiguous-only device and a scattered
  // buffer), ENODEV (no such device), EIO (beyond the device's reach with no swiotlb room),
  // ENOMEM (its IOVA space is full).
  Result<Attachment> Attach(int buffer_fd, std::string_view device,
                            DmaDataDirection dir = DmaDataDirection::kBidirectional);
  // A buffer every one of `devices` can map, from the heap that suits them (see README
  // "Devices"). ENODEV, EINVAL (no heap fits), ENOMEM; `refusal` gets the device and constraint.
  Result<HeapChoice> AllocateFor(const std::vector<std::string>& devices, uint64_t len,
                                 bool cpu_access = true, std::string* refusal = nullptr);
  // The DMA counters of one live buffer of this System (ENOENT when `fd` is not one).
  Result<DmaStatsInfo> BufferDmaStats(int fd);

  // The kernel's /sys/kernel/debug/dma_buf/bufinfo text for this System's live buffers.
  std::string BufInfo();

  // The modelled sg table of a live buffer of this System: {dma_address, length} per entry.
  // ENOENT when `fd` is not one of its buffers.
  Result<std::vector<std::pair<uint64_t, uint64_t>>> SgTable(int fd);

  // Heap modules, as kmod's commands do them (embedded: the module is mapped in this process).
  // Errors and messages are the kernel's: see README "Heap modules".
  Result<void> Insmod(const std::string& path);
  Result<void> Rmmod(const std::string& name);
  Result<void> Modprobe(const std::string& name);
  std::string Lsmod();  // the /proc/modules text
  Result<std::string> Modinfo(const std::string& name_or_path);

  // The inside of this System, for dmaheap's own programs (src/system/system_core.h; not part
  // of the public API, and not exported from libdmaheap.so).
  SystemCore& core() { return *core_; }

 private:
  // Not exported: only the library makes Systems (Boot).
  [[gnu::visibility("hidden")]] explicit System(std::unique_ptr<SystemCore> core);
  class Imports;
  std::unique_ptr<SystemCore> core_;
  std::shared_ptr<Imports> imports_;  // the embedded importer's attachments
};

// The dma-buf ioctls on a buffer fd — DMA_BUF_IOCTL_SYNC, DMA_BUF_SET_NAME_A/B — with the
// kernel's validation and errnos. A real kernel dma-buf goes straight to the kernel. Returns 0
// or -errno (ENOTTY for an fd that is no buffer, or an ioctl dma-bufs do not have).
DMAHEAP_API int BufferIoctl(int fd, unsigned long cmd, void* arg) noexcept;

// A shared mapping of a buffer, unmapped on destruction. Move-only.
class [[nodiscard]] DMAHEAP_API Mapping {
 public:
  Mapping() = default;
  Mapping(const Mapping&) = delete;
  Mapping& operator=(const Mapping&) = delete;
  Mapping(Mapping&& other) noexcept;
  Mapping& operator=(Mapping&& other) noexcept;
  ~Mapping();

  // mmap(NULL, length, prot, flags, fd, offset) with the dma-buf rules checked first for
  // dmaheap buffers: a range past the end or a MAP_PRIVATE mapping → EINVAL. EACCES for
  // PROT_WRITE on a buffer without write access.
  static Result<Mapping> Map(int fd, size_t length, int prot = PROT_READ | PROT_WRITE,
                             int flags = MAP_SHARED, uint64_t offset = 0);

  void* data() const { return data_; }
  uint8_t* bytes() const { return static_cast<uint8_t*>(data_); }
  size_t size() const { return size_; }
  void reset();

 private:
  Mapping(void* data, size_t size) : data_(data), size_(size) {}
  void* data_ = nullptr;
  size_t size_ = 0;
};

enum class SyncType : uint64_t { kRead = 1, kWrite = 2, kReadWrite = 3 };

// A CPU access window: DMA_BUF_IOCTL_SYNC START on Begin, END on destruction (or End()).
class [[nodiscard]] DMAHEAP_API CpuAccess {
 public:
  CpuAccess(const CpuAccess&) = delete;
  CpuAccess& operator=(const CpuAccess&) = delete;
  CpuAccess(CpuAccess&& other) noexcept;
  CpuAccess& operator=(CpuAccess&& other) noexcept;
  ~CpuAccess();

  // ENOTTY when `fd` is no buffer.
  static Result<CpuAccess> Begin(int fd, SyncType type);
  // Ends the window now; the destructor then does nothing.
  Result<void> End();

 private:
  CpuAccess(int fd, SyncType type) : fd_(fd), type_(type) {}
  int fd_ = -1;  // -1 == ended or moved from
  SyncType type_ = SyncType::kReadWrite;
};

}  // namespace dmaheap

#endif  // DMAHEAP_DMAHEAP_H
