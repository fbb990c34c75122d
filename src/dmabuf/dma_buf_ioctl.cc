#include "dmabuf/dma_buf_ioctl.h"

#include <sys/eventfd.h>

#include "base/check.h"
#include "dmaheap/uapi/linux/dma-buf.h"
#include "platform/fd_info.h"

namespace dmaheap {
namespace {

int Sync(IoctlArg& arg, DmaBufIoctlTarget& target) {
  dma_buf_sync sync;
  if (!arg.CopyIn(&sync, sizeof(sync)).ok()) return EFAULT;
  if (!ValidSyncFlags(sync.flags)) return EINVAL;
  const bool end = (sync.flags & DMA_BUF_SYNC_END) != 0;
  return target.CpuAccess(SyncDirection(sync.flags), end).error();
}

int SetName(IoctlArg& arg, DmaBufIoctlTarget& target) {
  Result<std::string> name = arg.CopyString(DMA_BUF_NAME_LEN);
  if (!name.ok()) return name.error();
  return target.SetName(std::move(name).value()).error();
}

int ExportSyncFile(IoctlArg& arg, DmaBufIoctlTarget& target) {
  dma_buf_export_sync_file exp;
  if (!arg.CopyIn(&exp, sizeof(exp)).ok()) return EFAULT;
  if (!ValidSyncFileFlags(exp.flags)) return EINVAL;
  Result<UniqueFd> fence = MakeSignalledSyncFile();
  if (!fence.ok()) return fence.error();
  Result<int> fd = target.installer().Install(std::move(fence).value(), /*cloexec=*/true);
  if (!fd.ok()) return fd.error();
  exp.fd = *fd;
  if (!arg.CopyOut(&exp, sizeof(exp)).ok()) {
    target.installer().Revoke(*fd);  // the kernel installs the fd only after the copy-out
    return EFAULT;
  }
  return 0;
}

int ImportSyncFile(IoctlArg& arg, DmaBufIoctlTarget& target) {
  dma_buf_import_sync_file imp;
  if (!arg.CopyIn(&imp, sizeof(imp)).ok()) return EFAULT;
  if (!ValidSyncFileFlags(imp.flags)) return EINVAL;
  return target.IsSyncFile(imp.fd) ? 0 : EINVAL;
}

}  // namespace

int DmaBufIoctl(unsigned int cmd, IoctlArg& arg, DmaBufIoctlTarget& target) {
  switch (cmd) {
    case DMA_BUF_IOCTL_SYNC:
      return Sync(arg, target);
    case DMA_BUF_SET_NAME_A:
    case DMA_BUF_SET_NAME_B:
      return SetName(arg, target);
    case DMA_BUF_IOCTL_EXPORT_SYNC_FILE:
      return ExportSyncFile(arg, target);
    case DMA_BUF_IOCTL_IMPORT_SYNC_FILE:
      return ImportSyncFile(arg, target);
    default:
      return ENOTTY;
  }
}

Result<UniqueFd> MakeSignalledSyncFile() {
  UniqueFd fd(::eventfd(1, EFD_CLOEXEC));
  if (!fd) return Errno(errno);
  return fd;
}

bool IsSignalledSyncFile(int fd) { return sys::IsEventFd(fd); }

}  // namespace dmaheap
