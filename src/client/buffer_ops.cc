// Operations on buffer fds: the dma-buf ioctls, mappings and CPU-access windows. A real kernel
// dma-buf (not a regular file) goes straight to the kernel; a dmaheap buffer (a memfd) is served
// with the kernel's rules by the System that exported it.

#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

#include "base/check.h"
#include "core/kernel.h"
#include "dmaheap/dmaheap.h"
#include "dmaheap/uapi/linux/dma-buf.h"
#include "platform/fd_info.h"
#include "platform/sys.h"

namespace dmaheap {
namespace {

int DmaBufIoctl(DmaBuf& buf, unsigned int cmd, void* arg) {
  switch (cmd) {
    case DMA_BUF_IOCTL_SYNC: {
      dma_buf_sync sync;
      if (!sys::CopyFromUser(&sync, arg, sizeof(sync)).ok()) return EFAULT;
      return DmaBufSync(buf, sync.flags).error();
    }
    case DMA_BUF_SET_NAME_A:
    case DMA_BUF_SET_NAME_B: {
      Result<std::string> name =
          sys::CopyStringFromUser(static_cast<const char*>(arg), DMA_BUF_NAME_LEN);
      if (!name.ok()) return name.error();
      buf.set_name(std::move(name).value());
      return 0;
    }
    default:
      // EXPORT/IMPORT_SYNC_FILE included: the embedded model has no sync_file (as a kernel
      // built without CONFIG_SYNC_FILE).
      return ENOTTY;
  }
}

// A dmaheap buffer whose System is not in this process (received from another process, or
// inherited by a forked child, whose copy of the System is dead). SYNC is validated with the
// kernel's rules and succeeds: CPU access needs no exporter work without mapped device
// attachments, and this process can have none. SET_NAME cannot reach the exporter from here:
// ENODEV.
int ForeignBufferIoctl(unsigned int cmd, void* arg) {
  switch (cmd) {
    case DMA_BUF_IOCTL_SYNC: {
      dma_buf_sync sync;
      if (!sys::CopyFromUser(&sync, arg, sizeof(sync)).ok()) return EFAULT;
      return DmaBufSyncFlags(sync.flags).error();
    }
    case DMA_BUF_SET_NAME_A:
    case DMA_BUF_SET_NAME_B:
      return ENODEV;
    default:
      return ENOTTY;
  }
}

}  // namespace

int BufferIoctl(int fd, unsigned long cmd, void* arg) noexcept {
  Result<struct stat> st = sys::Fstat(fd);
  if (!st.ok()) return -st.error();
  if (!S_ISREG(st->st_mode)) {
    // Not a memfd: a kernel dma-buf (its inode has no file type bits) or another file.
    int rc = ::ioctl(fd, cmd, arg);
    return rc < 0 ? -errno : rc;
  }
  if (DmaBufRef buf = Kernel::FindBuffer(fd))
    return -DmaBufIoctl(*buf, static_cast<unsigned int>(cmd), arg);
  if (!sys::BufferHeapOfFd(fd, nullptr)) return -ENOTTY;
  return -ForeignBufferIoctl(static_cast<unsigned int>(cmd), arg);
}

Mapping::Mapping(Mapping&& other) noexcept
    : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}

Mapping& Mapping::operator=(Mapping&& other) noexcept {
  if (this != &other) {
    reset();
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

Mapping::~Mapping() { reset(); }

void Mapping::reset() {
  if (data_ != nullptr) ::munmap(data_, size_);
  data_ = nullptr;
  size_ = 0;
}

Result<Mapping> Mapping::Map(int fd, size_t length, int prot, int flags, uint64_t offset) {
  if (DmaBufRef buf = Kernel::FindBuffer(fd)) {
    TRY(DmaBufMmapCheck(*buf, VmaRequest{offset, length, prot, flags}));
  }
  void* p = ::mmap(nullptr, length, prot, flags, fd, static_cast<off_t>(offset));
  if (p == MAP_FAILED) return Errno(errno);
  return Mapping(p, length);
}

CpuAccess::CpuAccess(CpuAccess&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)), type_(other.type_) {}

CpuAccess& CpuAccess::operator=(CpuAccess&& other) noexcept {
  if (this != &other) {
    (void)End();
    fd_ = std::exchange(other.fd_, -1);
    type_ = other.type_;
  }
  return *this;
}

CpuAccess::~CpuAccess() { (void)End(); }

Result<CpuAccess> CpuAccess::Begin(int fd, SyncType type) {
  dma_buf_sync sync{static_cast<uint64_t>(type) | DMA_BUF_SYNC_START};
  int rc = BufferIoctl(fd, DMA_BUF_IOCTL_SYNC, &sync);
  if (rc < 0) return Errno(-rc);
  return CpuAccess(fd, type);
}

Result<void> CpuAccess::End() {
  if (fd_ < 0) return {};
  dma_buf_sync sync{static_cast<uint64_t>(type_) | DMA_BUF_SYNC_END};
  int rc = BufferIoctl(std::exchange(fd_, -1), DMA_BUF_IOCTL_SYNC, &sync);
  if (rc < 0) return Errno(-rc);
  return {};
}

}  // namespace dmaheap
