// The DRM core's ioctl rules (drm_ioctl.h) against a recording DRM file, with arguments in this
// process's memory: every expected value is what Linux 6.1's drm_ioctl, drm_version and the PRIME
// and GEM ioctls answer, unreachable memory included.

#include "drm/drm_ioctl.h"

#include <gtest/gtest.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

#include "dmaheap/uapi/linux/dma-buf.h"
#include "drm/drm_uapi.h"
#include "platform/sys.h"

namespace dmaheap {
namespace {

// Handles come from `next_handle` (or the error in `import_error`); every call is recorded.
class RecordingFile final : public DrmFile {
 public:
  Result<uint32_t> PrimeFdToHandle(int fd) override {
    imported.push_back(fd);
    if (import_error != 0) return Errno(import_error);
    return next_handle;
  }
  Result<void> GemClose(uint32_t handle) override {
    closed.push_back(handle);
    if (close_error != 0) return Errno(close_error);
    return {};
  }
  Result<void> CopyToUser(uint64_t addr, const void* src, size_t len) override {
    return sys::CopyToUser(reinterpret_cast<void*>(addr), src, len);
  }

  uint32_t next_handle = 1;
  int import_error = 0;
  int close_error = 0;
  std::vector<int> imported;
  std::vector<uint32_t> closed;
};

// A page of this process the caller cannot reach (PROT_NONE) or only read.
class Page {
 public:
  explicit Page(int prot) {
    addr_ = ::mmap(nullptr, kPage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    EXPECT_NE(addr_, MAP_FAILED);
    prot_ = prot;
  }
  ~Page() { ::munmap(addr_, kPage); }
  Page(const Page&) = delete;
  Page& operator=(const Page&) = delete;
  // Fills the page's start with `bytes`, then drops it to the protection asked for.
  void* Seal(const void* bytes = nullptr, size_t len = 0) {
    if (len != 0) std::memcpy(addr_, bytes, len);
    EXPECT_EQ(::mprotect(addr_, kPage, prot_), 0);
    return addr_;
  }

 private:
  static constexpr size_t kPage = 4096;
  void* addr_ = nullptr;
  int prot_ = PROT_NONE;
};

int Ioctl(unsigned int cmd, void* arg, DrmFile& file) {
  SelfIoctlArg user(arg);
  return DrmIoctl(cmd, user, kVgemDriver, file);
}

uint64_t Ptr(void* p) { return reinterpret_cast<uint64_t>(p); }

TEST(DrmVersionTest, ZeroLengthsAskForTheLengthsAndNumbers) {
  RecordingFile file;
  drm::Version v{};
  v.version_major = v.version_minor = v.version_patchlevel = -1;
  ASSERT_EQ(Ioctl(drm::kIoctlVersion, &v, file), 0);
  EXPECT_EQ(v.version_major, 1);
  EXPECT_EQ(v.version_minor, 0);
  EXPECT_EQ(v.version_patchlevel, 0);
  EXPECT_EQ(v.name_len, 4u);   // "vgem"
  EXPECT_EQ(v.date_len, 8u);   // "20120112" (6.1)
  EXPECT_EQ(v.desc_len, 20u);  // "Virtual GEM provider"
  EXPECT_EQ(v.name, 0u);
}

TEST(DrmVersionTest, CopiesAtMostTheBufferWithoutANulAndReportsTheFullLength) {
  RecordingFile file;
  char name[16], date[4], desc[32];
  std::memset(name, 'x', sizeof(name));
  std::memset(date, 'x', sizeof(date));
  std::memset(desc, 'x', sizeof(desc));
  drm::Version v{};
  v.name_len = 2;  // shorter than "vgem": "vg", and the length comes back as 4
  v.name = Ptr(name);
  v.date_len = sizeof(date);
  v.date = Ptr(date);
  v.desc_len = sizeof(desc);
  v.desc = Ptr(desc);
  ASSERT_EQ(Ioctl(drm::kIoctlVersion, &v, file), 0);
  EXPECT_EQ(std::string(name, 3), "vgx");
  EXPECT_EQ(v.name_len, 4u);
  EXPECT_EQ(std::string(date, 4), "2012");
  EXPECT_EQ(v.date_len, 8u);
  EXPECT_EQ(std::string(desc, 21), "Virtual GEM providerx") << "no NUL after the string";
  EXPECT_EQ(v.desc_len, 20u);
}

// drm_copy_field copies only `if (len && buf)`: a NULL pointer with room is skipped, not EFAULT.
TEST(DrmVersionTest, ANullPointerWithALengthIsSkipped) {
  RecordingFile file;
  drm::Version v{};
  v.name_len = 4;
  v.date_len = 8;
  v.desc_len = 20;
  EXPECT_EQ(Ioctl(drm::kIoctlVersion, &v, file), 0);
  EXPECT_EQ(v.name_len, 4u);
  EXPECT_EQ(v.desc_len, 20u);
}

// The first unwritable string ends the ioctl with EFAULT; what was filled in by then still reaches
// the caller (drm_ioctl copies the argument back whatever the function returned).
TEST(DrmVersionTest, AnUnwritableStringFaultsAndStopsThere) {
  RecordingFile file;
  Page bad(PROT_NONE);
  char name[4];
  drm::Version v{};
  v.name_len = sizeof(name);
  v.name = Ptr(name);
  v.date_len = 8;
  v.date = Ptr(bad.Seal());
  v.desc_len = 3;  // never reached: stays as given
  EXPECT_EQ(Ioctl(drm::kIoctlVersion, &v, file), EFAULT);
  EXPECT_EQ(std::string(name, 4), "vgem");
  EXPECT_EQ(v.version_major, 1);
  EXPECT_EQ(v.date_len, 8u);
  EXPECT_EQ(v.desc_len, 3u);
}

TEST(DrmIoctlTest, AnUnreachableArgumentIsEfaultAndNothingRuns) {
  RecordingFile file;
  Page none(PROT_NONE);
  EXPECT_EQ(Ioctl(drm::kIoctlVersion, none.Seal(), file), EFAULT);
  EXPECT_EQ(Ioctl(drm::kIoctlPrimeFdToHandle, reinterpret_cast<void*>(8), file), EFAULT);
  EXPECT_EQ(Ioctl(drm::kIoctlGemClose, nullptr, file), EFAULT);
  EXPECT_TRUE(file.imported.empty());
  EXPECT_TRUE(file.closed.empty());
}

TEST(DrmPrimeTest, FdToHandleWritesTheHandleAndIgnoresFlags) {
  RecordingFile file;
  file.next_handle = 7;
  drm::PrimeHandle args{0, 0xffffffffu, 42};
  ASSERT_EQ(Ioctl(drm::kIoctlPrimeFdToHandle, &args, file), 0);
  EXPECT_EQ(args.handle, 7u);
  EXPECT_EQ(args.flags, 0xffffffffu);
  EXPECT_EQ(args.fd, 42);
  EXPECT_EQ(file.imported, std::vector<int>{42});
}

TEST(DrmPrimeTest, AFailedImportLeavesTheHandleAsGiven) {
  RecordingFile file;
  for (int err : {EBADF, EINVAL, EIO, ENOMEM}) {
    file.import_error = err;
    drm::PrimeHandle args{123, 0, -1};
    EXPECT_EQ(Ioctl(drm::kIoctlPrimeFdToHandle, &args, file), err);
    EXPECT_EQ(args.handle, 123u);
  }
}

// The import has happened when the copy back fails: the kernel answers EFAULT all the same.
TEST(DrmPrimeTest, AReadOnlyArgumentImportsThenFaults) {
  RecordingFile file;
  Page read_only(PROT_READ);
  const drm::PrimeHandle args{0, 0, 5};
  EXPECT_EQ(Ioctl(drm::kIoctlPrimeFdToHandle, read_only.Seal(&args, sizeof(args)), file), EFAULT);
  EXPECT_EQ(file.imported, std::vector<int>{5});
}

// GEM_CLOSE is _IOW: nothing is copied back, so a read-only argument is fine; pad is ignored.
TEST(DrmGemTest, CloseTakesTheHandleIgnoresPadAndCopiesNothingBack) {
  RecordingFile file;
  Page read_only(PROT_READ);
  const drm::GemClose args{9, 0xdeadbeef};
  EXPECT_EQ(Ioctl(drm::kIoctlGemClose, read_only.Seal(&args, sizeof(args)), file), 0);
  EXPECT_EQ(file.closed, std::vector<uint32_t>{9});
  file.close_error = EINVAL;
  drm::GemClose zero{0, 0};
  EXPECT_EQ(Ioctl(drm::kIoctlGemClose, &zero, file), EINVAL);
}

TEST(DrmIoctlTest, OtherIoctlTypesAreEnotty) {
  RecordingFile file;
  EXPECT_EQ(Ioctl(DMA_BUF_IOCTL_SYNC, nullptr, file), ENOTTY);
  EXPECT_EQ(Ioctl(_IOWR('D', 0x00, drm::Version), nullptr, file), ENOTTY);
  EXPECT_EQ(Ioctl(FIONREAD, nullptr, file), ENOTTY);
}

// Core nrs without a function here (GET_UNIQUE, GET_CAP, PRIME_HANDLE_TO_FD, MODE_*), nrs past
// the core table, vgem's own table (0x40 + 0..2) and other driver nrs: EINVAL before any copy.
TEST(DrmIoctlTest, NrsWithoutAFunctionAreEinval) {
  RecordingFile file;
  for (unsigned nr :
       {0x01u, 0x0cu, 0x2du, 0xa0u, 0xceu, 0xcfu, 0xffu, 0x40u, 0x41u, 0x42u, 0x43u, 0x9fu}) {
    EXPECT_EQ(Ioctl(_IOWR('d', nr, drm::PrimeHandle), nullptr, file), EINVAL) << nr;
  }
  EXPECT_EQ(Ioctl(drm::kIoctlPrimeHandleToFd, nullptr, file), EINVAL);
  EXPECT_TRUE(file.imported.empty());
}

// The caller's size and direction bits decide the copies; the table's size is the minimum.
TEST(DrmIoctlTest, TheCallersSizeAndDirectionDecideWhatIsCopied) {
  RecordingFile file;
  // _IOR VERSION: nothing copied in, so the kernel's copy starts zeroed (no lengths, no
  // pointers) and the whole of it is copied out.
  drm::Version v;
  std::memset(&v, 0x5a, sizeof(v));
  ASSERT_EQ(Ioctl(_IOR('d', 0x00, drm::Version), &v, file), 0);
  EXPECT_EQ(v.name_len, 4u);
  EXPECT_EQ(v.name, 0u);
  // A larger struct: its tail goes in and comes back unchanged.
  struct {
    drm::Version v;
    uint64_t tail;
  } big{};
  big.tail = 0x1122334455667788u;
  ASSERT_EQ(Ioctl(_IOWR('d', 0x00, big), &big, file), 0);
  EXPECT_EQ(big.v.desc_len, 20u);
  EXPECT_EQ(big.tail, 0x1122334455667788u);
  // A smaller PRIME struct (handle and flags only): the fd is zero-filled.
  struct {
    uint32_t handle, flags;
  } small{0, 0};
  ASSERT_EQ(Ioctl(_IOWR('d', 0x2e, small), &small, file), 0);
  EXPECT_EQ(file.imported, std::vector<int>{0});
  EXPECT_EQ(small.handle, 1u);
}

}  // namespace
}  // namespace dmaheap
