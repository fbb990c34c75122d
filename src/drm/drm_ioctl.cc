#include "drm/drm_ioctl.h"

#include <algorithm>
#include <cstring>
#include <string_view>
#include <vector>

#include "drm/drm_uapi.h"

namespace dmaheap {
namespace {

// A DRM ioctl function works on the kernel's copy of the argument, at least the table's size.
using DrmFunc = int (*)(uint8_t* kdata, const DrmDriver& driver, DrmFile& file);

struct DrmIoctlDesc {
  unsigned int cmd;  // the table's own number: its size and direction bits are the kernel's
  DrmFunc func;
};

template <typename T>
T Load(const uint8_t* kdata) {
  T v;
  std::memcpy(&v, kdata, sizeof(v));
  return v;
}

template <typename T>
void Store(uint8_t* kdata, const T& v) {
  std::memcpy(kdata, &v, sizeof(v));
}

// drm_copy_field: at most *len bytes of `value`, no NUL; *len becomes the full length; a NULL
// pointer (or nothing to copy) is skipped, not a fault.
int CopyField(DrmFile& file, uint64_t user, uint64_t* len, std::string_view value) {
  const size_t n = static_cast<size_t>(std::min<uint64_t>(value.size(), *len));
  *len = value.size();
  if (n != 0 && user != 0 && !file.CopyToUser(user, value.data(), n).ok()) return EFAULT;
  return 0;
}

// drm_version: numbers first, then name, date and desc, stopping at the first fault (the lengths
// written so far still reach the caller: drm_ioctl copies the argument back regardless).
int Version(uint8_t* kdata, const DrmDriver& driver, DrmFile& file) {
  auto v = Load<drm::Version>(kdata);
  v.version_major = driver.major;
  v.version_minor = driver.minor;
  v.version_patchlevel = driver.patchlevel;
  int err = CopyField(file, v.name, &v.name_len, driver.name);
  if (err == 0) err = CopyField(file, v.date, &v.date_len, driver.date);
  if (err == 0) err = CopyField(file, v.desc, &v.desc_len, driver.desc);
  Store(kdata, v);
  return err;
}

// drm_gem_close_ioctl: pad is not looked at.
int GemClose(uint8_t* kdata, const DrmDriver&, DrmFile& file) {
  return file.GemClose(Load<drm::GemClose>(kdata).handle).error();
}

// drm_prime_fd_to_handle_ioctl: flags are not looked at; the handle is written only on success.
int PrimeFdToHandle(uint8_t* kdata, const DrmDriver&, DrmFile& file) {
  auto args = Load<drm::PrimeHandle>(kdata);
  Result<uint32_t> handle = file.PrimeFdToHandle(args.fd);
  if (!handle.ok()) return handle.error();
  args.handle = *handle;
  Store(kdata, args);
  return 0;
}

// The core table's slots that have a function here (drm_ioctls[], indexed by nr). vgem's own
// table (VGEM_FENCE_ATTACH/SIGNAL) has none here: its nrs answer as empty slots.
const DrmIoctlDesc* Lookup(unsigned int nr) {
  static constexpr DrmIoctlDesc kVersion{drm::kIoctlVersion, Version};
  static constexpr DrmIoctlDesc kGemClose{drm::kIoctlGemClose, GemClose};
  static constexpr DrmIoctlDesc kFdToHandle{drm::kIoctlPrimeFdToHandle, PrimeFdToHandle};
  switch (nr) {
    case _IOC_NR(drm::kIoctlVersion):
      return &kVersion;
    case _IOC_NR(drm::kIoctlGemClose):
      return &kGemClose;
    case _IOC_NR(drm::kIoctlPrimeFdToHandle):
      return &kFdToHandle;
    default:
      return nullptr;
  }
}

}  // namespace

int DrmIoctl(unsigned int cmd, IoctlArg& arg, const DrmDriver& driver, DrmFile& file) {
  if (_IOC_TYPE(cmd) != drm::kIoctlBase) return ENOTTY;
  const DrmIoctlDesc* desc = Lookup(_IOC_NR(cmd));
  if (desc == nullptr) return EINVAL;
  constexpr unsigned int kIn = _IOC_WRITE << _IOC_DIRSHIFT;  // the kernel's IOC_IN
  constexpr unsigned int kOut = _IOC_READ << _IOC_DIRSHIFT;  // IOC_OUT
  const size_t in_size = (cmd & desc->cmd & kIn) != 0 ? _IOC_SIZE(cmd) : 0;
  const size_t out_size = (cmd & desc->cmd & kOut) != 0 ? _IOC_SIZE(cmd) : 0;
  std::vector<uint8_t> kdata(std::max({in_size, out_size, size_t{_IOC_SIZE(desc->cmd)}}), 0);
  if (!arg.CopyIn(kdata.data(), in_size).ok()) return EFAULT;
  int err = desc->func(kdata.data(), driver, file);
  if (!arg.CopyOut(kdata.data(), out_size).ok()) err = EFAULT;
  return err;
}

}  // namespace dmaheap
