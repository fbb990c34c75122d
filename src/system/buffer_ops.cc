// Operations on buffer fds: the dma-buf ioctls, mappings and CPU-access windows. A real kernel
// dma-buf (not a regular file) goes straight to the kernel; a dmaheap buffer (a memfd) is served
// by the dma-buf core's one ioctl implementation (dmabuf/dma_buf_ioctl.h), reaching the exporter
// where this process holds the System that exported it.

#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>

#include "base/check.h"
#include "dmabuf/dma_buf_ioctl.h"
#include "dmaheap/dmaheap.h"
#include "dmaheap/uapi/linux/dma-buf.h"
#include "platform/fd_info.h"
#include "platform/sys.h"
#include "system/foreign_buffer.h"
#include "system/system_core.h"

namespace dmaheap {
namespace {

// A buffer whose System lives in this process: the exporter is called.
class LocalBuffer final : public DmaBufIoctlTarget {
 public:
  explicit LocalBuffer(DmaBuf& buf) : buf_(buf) {}
  Result<void> CpuAccess(DmaDirection dir, bool end) override { return buf_.CpuAccess(dir, end); }
  Result<void> SetName(std::string name) override {
    buf_.set_name(name);
    return {};
  }
  FdInstaller& installer() override { return installer_; }
  bool IsSyncFile(int fd) override { return IsSignalledSyncFile(fd); }

 private:
  DmaBuf& buf_;
  SelfFdInstaller installer_;
};

// A dmaheap buffer whose System is not in this process (received from another process, or
// inherited by a forked child, whose copy of the System is dead). CPU access needs no exporter
// work without mapped device attachments, and this process can have none; the name lives with
// the exporter, out of reach: ENODEV.
ForeignCpuAccess g_foreign_cpu_access = nullptr;

class ForeignBuffer final : public DmaBufIoctlTarget {
 public:
  explicit ForeignBuffer(int fd) : fd_(fd) {}
  Result<void> CpuAccess(DmaDirection dir, bool end) override {
    return g_foreign_cpu_access != nullptr ? g_foreign_cpu_access(fd_, dir, end) : Result<void>{};
  }
  Result<void> SetName(std::string /*name*/) override { return Errno(ENODEV); }
  FdInstaller& installer() override { return installer_; }
  bool IsSyncFile(int fd) override { return IsSignalledSyncFile(fd); }

 private:
  const int fd_;
  SelfFdInstaller installer_;
};

}  // namespace

void SetForeignCpuAccess(ForeignCpuAccess handler) { g_foreign_cpu_access = handler; }

int BufferIoctl(int fd, unsigned long cmd, void* arg) noexcept {
  Result<struct stat> st = sys::Fstat(fd);
  if (!st.ok()) return -st.error();
  if (!S_ISREG(st->st_mode)) {
    // Not a memfd: a kernel dma-buf (its inode has no file type bits) or another file.
    int rc = ::ioctl(fd, cmd, arg);
    return rc < 0 ? -errno : rc;
  }
  SelfIoctlArg user(arg);
  // ioctl(2) takes the request as unsigned long; the kernel truncates it to 32 bits.
  const auto nr = static_cast<unsigned int>(cmd);
  if (DmaBufRef buf = SystemCore::FindBuffer(fd)) {
    LocalBuffer local(*buf);
    return -DmaBufIoctl(nr, user, local);
  }
  if (!sys::BufferHeapOfFd(fd, nullptr)) return -ENOTTY;
  // A buffer exported elsewhere is asked as a program would ask it, with ioctl(2): in a process
  // under the preload shim, the shim answers (and its sync sanitizer sees the bracket, its
  // daemon sets the name); elsewhere the kernel answers ENOTTY for a memfd and the rules run
  // here.
  if (int rc = ::ioctl(fd, cmd, arg); rc >= 0 || errno != ENOTTY) return rc < 0 ? -errno : rc;
  ForeignBuffer foreign(fd);
  return -DmaBufIoctl(nr, user, foreign);
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
  if (DmaBufRef buf = SystemCore::FindBuffer(fd)) {
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
