#include "ipc/heap_call.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <map>
#include <mutex>

#include "base/check.h"
#include "dmaheap/uapi/linux/dma-heap.h"
#include "heap/heap_ioctl.h"
#include "ipc/paths.h"
#include "ipc/transport.h"
#include "platform/fd_info.h"

namespace dmaheap {

Result<HeapCallResult> HeapIoctlCall(int sock, unsigned int cmd, const uint8_t* in,
                                     size_t in_size, sys::ShmemThp thp, Op op) {
  const HeapIoctlSizes sizes = DmaHeapIoctlSizes(cmd);
  Reply reply = TRY(Call(sock, op, cmd, in, in_size));
  if (reply.data.size() != sizes.out_size) return Errno(EBADMSG);
  HeapCallResult result;
  result.status = reply.status;
  result.out = std::move(reply.data);
  dma_heap_allocation_data data{};
  std::memcpy(&data, in, std::min(in_size, sizeof(data)));
  result.fd_flags = data.fd_flags;
  if (!reply.fd) return result;
  if ((data.fd_flags & O_ACCMODE) == O_RDWR) {
    struct stat st {};
    Result<void> committed = Errno(EBADF);
    if (::fstat(reply.fd.get(), &st) == 0) {
      committed = thp == sys::ShmemThp::kHugeAdvise
                      ? sys::PopulateHuge(reply.fd.get(), static_cast<uint64_t>(st.st_size))
                      : sys::Fallocate(reply.fd.get(), static_cast<uint64_t>(st.st_size));
    }
    if (!committed.ok()) {
      // The buffer is released when this fd closes. What the kernel copies back after a
      // failed allocation is the input, zero-extended.
      result.status = ENOMEM;
      std::fill(result.out.begin(), result.out.end(), 0);
      std::memcpy(result.out.data(), in, std::min(in_size, result.out.size()));
      return result;
    }
  }
  result.fd = std::move(reply.fd);
  return result;
}

void PatchAllocFd(std::vector<uint8_t>& out, int fd_number) {
  if (out.size() < 12) return;
  const auto n = static_cast<uint32_t>(fd_number);
  std::memcpy(out.data() + 8, &n, sizeof(n));
}

Result<void> SetNameThroughDaemon(const std::string& heap_dir, int buffer_fd,
                                  std::string_view name) {
  std::string heap;
  if (!sys::BufferHeapOfFd(buffer_fd, &heap)) return Errno(ENOTTY);
  Result<std::string> path = HeapSocketPath(heap_dir, heap);
  if (!path.ok()) return Errno(ENODEV);
  Result<UniqueFd> sock = ConnectSocket(*path);
  if (!sock.ok()) return Errno(ENODEV);
  Result<Reply> reply = Call(sock->get(), Op::kSetName, 0, name.data(), name.size(), buffer_fd);
  if (!reply.ok()) return Errno(ENODEV);
  if (reply->status != 0) return Errno(reply->status);
  return {};
}

Result<HeapInfo> QueryHeapInfo(const std::string& heap_dir, std::string_view heap) {
  std::string path = TRY(HeapSocketPath(heap_dir, heap));
  UniqueFd sock = TRY(ConnectSocket(path));
  Reply reply = TRY(Call(sock.get(), Op::kHeapInfo, 0, nullptr, 0));
  if (reply.status != 0) return Errno(reply.status);
  HeapInfo info{};
  if (reply.data.size() != sizeof(info)) return Errno(EBADMSG);
  std::memcpy(&info, reply.data.data(), sizeof(info));
  return info;
}

Result<void> DaemonBuffer::CpuAccess(DmaDirection dir, bool end) {
  return CpuAccessThroughDaemon(heap_dir_, buffer_fd_, dir, end);
}

namespace {

// One connection per heap socket for forwarded SYNCs, kept: a SYNC pair per frame should not
// pay two connects. A forked child must not share its parent's (the replies would cross), so
// the cache belongs to the process that made it.
class SyncConnections {
 public:
  // One round trip on the cached connection to `path`; a broken one is replaced once.
  Result<Reply> Call(const std::string& path, uint64_t flags, int buffer_fd) {
    std::lock_guard lock(mu_);
    if (pid_ != ::getpid()) {
      for (auto& [p, fd] : socks_) (void)fd.release();  // the parent's; not ours to close
      socks_.clear();
      pid_ = ::getpid();
    }
    for (int attempt = 0;; ++attempt) {
      UniqueFd& sock = socks_[path];
      if (!sock) sock = TRY(ConnectSocket(path));
      Result<Reply> reply = dmaheap::Call(sock.get(), Op::kSync, flags, nullptr, 0, buffer_fd);
      if (reply.ok() || attempt == 1) return reply;
      sock.reset();  // a daemon that restarted: reconnect once
    }
  }

 private:
  std::mutex mu_;
  pid_t pid_ = 0;                               // guarded by mu_
  std::map<std::string, UniqueFd> socks_;  // guarded by mu_
};

SyncConnections& Connections() {
  static SyncConnections* connections = new SyncConnections;  // never destroyed: used at exit
  return *connections;
}

}  // namespace

Result<void> CpuAccessThroughDaemon(const std::string& heap_dir, int buffer_fd, DmaDirection dir,
                                    bool end) {
  // Only a buffer a device has mapped has exporter work to do: the daemon marks those with the
  // sticky bit (device_wire.h), so SYNC on every other buffer stays a local no-op.
  struct stat st {};
  if (::fstat(buffer_fd, &st) != 0 || (st.st_mode & S_ISVTX) == 0) return {};
  std::string heap;
  if (!sys::BufferHeapOfFd(buffer_fd, &heap)) return {};
  Result<std::string> path = HeapSocketPath(heap_dir, heap);
  if (!path.ok()) return Errno(ENODEV);
  uint64_t flags = end ? DMA_BUF_SYNC_END : DMA_BUF_SYNC_START;
  flags |= dir == DmaDirection::kFromDevice ? DMA_BUF_SYNC_READ
           : dir == DmaDirection::kToDevice ? DMA_BUF_SYNC_WRITE
                                            : DMA_BUF_SYNC_RW;
  Result<Reply> reply = Connections().Call(*path, flags, buffer_fd);
  if (!reply.ok()) return Errno(ENODEV);
  if (reply->status != 0) return Errno(reply->status);
  return {};
}

Result<void> DaemonBuffer::SetName(std::string name) {
  return SetNameThroughDaemon(heap_dir_, buffer_fd_, name);
}

}  // namespace dmaheap
