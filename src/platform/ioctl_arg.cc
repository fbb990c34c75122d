#include "platform/ioctl_arg.h"

#include "base/check.h"
#include "platform/sys.h"

namespace dmaheap {

Result<std::string> IoctlArg::CopyString(size_t /*max*/) { return Errno(EFAULT); }

Result<void> SelfIoctlArg::CopyIn(void* dst, size_t len) {
  return sys::CopyFromUser(dst, arg_, len);
}

Result<void> SelfIoctlArg::CopyOut(const void* src, size_t len) {
  return sys::CopyToUser(arg_, src, len);
}

Result<std::string> SelfIoctlArg::CopyString(size_t max) {
  return sys::CopyStringFromUser(static_cast<const char*>(arg_), max);
}

Result<void> ProcessIoctlArg::CopyIn(void* dst, size_t len) {
  return sys::CopyFromProcess(pid_, dst, arg_, len);
}

Result<void> ProcessIoctlArg::CopyOut(const void* src, size_t len) {
  return sys::CopyToProcess(pid_, arg_, src, len);
}

Result<std::string> ProcessIoctlArg::CopyString(size_t max) {
  return sys::CopyStringFromProcess(pid_, static_cast<const char*>(arg_), max);
}

Result<int> SelfFdInstaller::Install(UniqueFd fd, bool cloexec) {
  if (!cloexec) TRY(sys::SetCloexec(fd.get(), false));
  return fd.release();
}

void SelfFdInstaller::Revoke(int fd) { UniqueFd(fd).reset(); }

}  // namespace dmaheap
