// The dma-buf ioctls on a buffer fd (drivers/dma-buf/dma-buf.c dma_buf_ioctl): the one
// implementation of their rules, used by every mode that serves buffer fds — the embedded API
// (BufferIoctl), the preload shim and the seccomp supervisor of `dmaheap run`.
//
// In the kernel's order, with its errnos:
//   DMA_BUF_IOCTL_SYNC        copy in 8 bytes (EFAULT); flags outside 0x7 or without READ/WRITE
//                             → EINVAL; END → end CPU access, else begin CPU access.
//   DMA_BUF_SET_NAME_A / _B   strndup_user(arg, 32): EFAULT, or EINVAL for 32 bytes or more
//                             without a NUL; then the name is replaced.
//   EXPORT_SYNC_FILE          copy in (EFAULT); flags ⊄ RW or 0 → EINVAL; a new close-on-exec fd
//                             for the fence; copy out (EFAULT, the fd is closed again).
//   IMPORT_SYNC_FILE          copy in (EFAULT); flags → EINVAL; an fd that is no sync_file →
//                             EINVAL.
//   anything else             ENOTTY.
// User space cannot make a sync_file: no fence is ever pending on a dmaheap buffer, so EXPORT
// hands out an always-signalled stand-in (an eventfd that polls readable), and IMPORT accepts
// such stand-ins (README deviation table).
#ifndef DMAHEAP_SRC_DMABUF_DMA_BUF_IOCTL_H
#define DMAHEAP_SRC_DMABUF_DMA_BUF_IOCTL_H

#include <string>

#include "dmabuf/dma_buf_rules.h"
#include "dmaheap/result.h"
#include "platform/ioctl_arg.h"

namespace dmaheap {

// What a mode does once an ioctl's argument passed the rules: the buffer behind the fd, as far
// as that mode can reach it.
class DmaBufIoctlTarget {
 public:
  virtual ~DmaBufIoctlTarget() = default;
  // begin_cpu_access, or end_cpu_access when `end`. Errors reach the caller.
  virtual Result<void> CpuAccess(DmaDirection dir, bool end) = 0;
  // Replaces the name (at most DMA_BUF_NAME_LEN - 1 bytes). ENODEV when the exporter cannot be
  // reached from here.
  virtual Result<void> SetName(std::string name) = 0;
  // Installs a new fd in the caller (EXPORT_SYNC_FILE).
  virtual FdInstaller& installer() = 0;
  // IMPORT_SYNC_FILE: whether `fd`, a number in the caller's fd table, is a sync file.
  virtual bool IsSyncFile(int fd) = 0;
};

// Runs one dma-buf ioctl. Returns 0 or a positive errno.
int DmaBufIoctl(unsigned int cmd, IoctlArg& arg, DmaBufIoctlTarget& target);

// An always-signalled stand-in for a sync_file, close-on-exec; and whether an fd of this
// process is one.
Result<UniqueFd> MakeSignalledSyncFile();
bool IsSignalledSyncFile(int fd);

}  // namespace dmaheap

#endif  // DMAHEAP_SRC_DMABUF_DMA_BUF_IOCTL_H
