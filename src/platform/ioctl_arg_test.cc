// An ioctl argument that never trusts its pointer: good memory is copied, NULL and a PROT_NONE
// page are EFAULT (never SIGSEGV), and CopyString stops at the NUL without touching the next
// page. Both readers run over the same cases: this process's memory through SelfIoctlArg and
// through ProcessIoctlArg on our own pid. And the installer that puts a new fd in our table.

#include "platform/ioctl_arg.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstring>
#include <functional>
#include <memory>
#include <string>

namespace dmaheap {
namespace {

constexpr size_t kPage = 4096;

// Three pages: the first two readable and writable, the third PROT_NONE.
class GuardedPages {
 public:
  GuardedPages() {
    void* p = mmap(nullptr, 3 * kPage, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return;
    base_ = static_cast<char*>(p);
    if (mprotect(guard(), kPage, PROT_NONE) != 0) {
      munmap(base_, 3 * kPage);
      base_ = nullptr;
    }
  }
  GuardedPages(const GuardedPages&) = delete;
  GuardedPages& operator=(const GuardedPages&) = delete;
  ~GuardedPages() {
    if (base_ != nullptr) munmap(base_, 3 * kPage);
  }
  bool ok() const { return base_ != nullptr; }
  char* base() const { return base_; }
  char* guard() const { return base_ + 2 * kPage; }
  // Writes `text` and its NUL so that the NUL is the last byte before the guard page.
  char* EndingAtGuard(const std::string& text) const {
    char* start = guard() - text.size() - 1;
    std::memcpy(start, text.c_str(), text.size() + 1);
    return start;
  }

 private:
  char* base_ = nullptr;
};

using MakeArg = std::function<std::unique_ptr<IoctlArg>(void*)>;

struct Reader {
  const char* name;
  MakeArg make;
};

class IoctlArgTest : public ::testing::TestWithParam<Reader> {
 protected:
  void SetUp() override { ASSERT_TRUE(pages_.ok()) << strerror(errno); }
  std::unique_ptr<IoctlArg> Arg(void* p) { return GetParam().make(p); }
  GuardedPages pages_;
};

struct Data {
  uint64_t a;
  uint32_t b;
  uint32_t c;
};

TEST_P(IoctlArgTest, CopyInAndOutOnGoodMemory) {
  Data user{0x1122334455667788, 7, 9};
  Data got{};
  ASSERT_TRUE(Arg(&user)->CopyIn(&got, sizeof(got)).ok());
  EXPECT_EQ(got.a, user.a);
  EXPECT_EQ(got.b, 7u);
  EXPECT_EQ(got.c, 9u);

  const Data reply{1, 2, 3};
  ASSERT_TRUE(Arg(&user)->CopyOut(&reply, sizeof(reply)).ok());
  EXPECT_EQ(user.a, 1u);
  EXPECT_EQ(user.b, 2u);
  EXPECT_EQ(user.c, 3u);

  // Only the first `len` bytes are touched.
  Data partial{10, 20, 30};
  ASSERT_TRUE(Arg(&partial)->CopyOut(&reply, sizeof(uint64_t)).ok());
  EXPECT_EQ(partial.a, 1u);
  EXPECT_EQ(partial.b, 20u);
}

TEST_P(IoctlArgTest, NullIsEfault) {
  char buf[16] = {};
  EXPECT_EQ(Arg(nullptr)->CopyIn(buf, sizeof(buf)).error(), EFAULT);
  EXPECT_EQ(Arg(nullptr)->CopyOut(buf, sizeof(buf)).error(), EFAULT);
  EXPECT_EQ(Arg(nullptr)->CopyString(16).error(), EFAULT);
}

TEST_P(IoctlArgTest, ProtNonePageIsEfault) {
  char buf[16] = {};
  EXPECT_EQ(Arg(pages_.guard())->CopyIn(buf, sizeof(buf)).error(), EFAULT);
  EXPECT_EQ(Arg(pages_.guard())->CopyOut(buf, sizeof(buf)).error(), EFAULT);
  EXPECT_EQ(Arg(pages_.guard())->CopyString(16).error(), EFAULT);
  // Straddling into the guard page: all or nothing.
  char* edge = pages_.guard() - 8;
  std::memset(edge, 'e', 8);
  EXPECT_EQ(Arg(edge)->CopyIn(buf, sizeof(buf)).error(), EFAULT);
  EXPECT_EQ(Arg(edge)->CopyOut(buf, sizeof(buf)).error(), EFAULT);
  EXPECT_TRUE(Arg(edge)->CopyIn(buf, 8).ok()) << "the readable part alone is fine";
}

TEST_P(IoctlArgTest, CopyStringStopsAtTheNul) {
  char* s = pages_.base();
  std::memcpy(s, "camera\0tail", 12);
  Result<std::string> got = Arg(s)->CopyString(32);
  ASSERT_TRUE(got.ok()) << strerror(got.error());
  EXPECT_EQ(*got, "camera");
  Result<std::string> empty = Arg(s + 6)->CopyString(32);
  ASSERT_TRUE(empty.ok());
  EXPECT_EQ(*empty, "");
}

// strndup_user's bound: at most max - 1 characters.
TEST_P(IoctlArgTest, CopyStringWithoutNulWithinMaxIsEinval) {
  char* s = pages_.base();
  std::memcpy(s, "abcdef", 7);
  EXPECT_EQ(Arg(s)->CopyString(4).error(), EINVAL);
  EXPECT_EQ(Arg(s)->CopyString(6).error(), EINVAL) << "6 characters need max 7";
  Result<std::string> fits = Arg(s)->CopyString(7);
  ASSERT_TRUE(fits.ok());
  EXPECT_EQ(*fits, "abcdef");
  // A string longer than a page, no NUL in reach.
  std::memset(s, 'x', 2 * kPage - 1);
  s[2 * kPage - 1] = '\0';
  EXPECT_EQ(Arg(s)->CopyString(kPage + 100).error(), EINVAL);
}

TEST_P(IoctlArgTest, CopyStringNeverTouchesThePageAfterTheNul) {
  for (size_t len : {size_t{0}, size_t{1}, size_t{31}, kPage - 1, kPage + 10}) {
    SCOPED_TRACE(len);
    const std::string text(len, 'n');
    char* s = pages_.EndingAtGuard(text);
    Result<std::string> got = Arg(s)->CopyString(2 * kPage);
    ASSERT_TRUE(got.ok()) << strerror(got.error());
    EXPECT_EQ(*got, text);
  }
}

TEST_P(IoctlArgTest, CopyStringRunningIntoTheGuardIsEfault) {
  char* s = pages_.guard() - 5;
  std::memset(s, 'r', 5);
  EXPECT_EQ(Arg(s)->CopyString(64).error(), EFAULT);
  EXPECT_EQ(Arg(s)->CopyString(5).error(), EINVAL) << "max reached before the guard";
}

std::unique_ptr<IoctlArg> Self(void* p) { return std::make_unique<SelfIoctlArg>(p); }
std::unique_ptr<IoctlArg> OwnPid(void* p) { return std::make_unique<ProcessIoctlArg>(getpid(), p); }
std::string ReaderName(const ::testing::TestParamInfo<Reader>& info) { return info.param.name; }

INSTANTIATE_TEST_SUITE_P(Readers, IoctlArgTest,
                         ::testing::Values(Reader{"Self", Self}, Reader{"OwnPid", OwnPid}),
                         ReaderName);

// An argument that is bytes, not a pointer, has no string to read.
TEST(IoctlArgDefaultTest, CopyStringIsEfault) {
  class Bytes final : public IoctlArg {
   public:
    Result<void> CopyIn(void*, size_t) override { return {}; }
    Result<void> CopyOut(const void*, size_t) override { return {}; }
  } bytes;
  EXPECT_EQ(bytes.CopyString(32).error(), EFAULT);
}

// Buffers reach the installer close-on-exec (BufferTable creates them so): Install keeps the
// flag or clears it as the caller asked.
TEST(SelfFdInstallerTest, InstallKeepsOrClearsCloexec) {
  SelfFdInstaller installer;
  for (bool cloexec : {true, false}) {
    SCOPED_TRACE(cloexec);
    UniqueFd fd(memfd_create("ioctl_arg_test", MFD_CLOEXEC));
    ASSERT_TRUE(fd.valid());
    const int number = fd.get();
    Result<int> installed = installer.Install(std::move(fd), cloexec);
    ASSERT_TRUE(installed.ok()) << strerror(installed.error());
    UniqueFd owned(*installed);
    EXPECT_EQ(*installed, number) << "the fd itself, in this process's table";
    EXPECT_EQ(fcntl(owned.get(), F_GETFD) & FD_CLOEXEC, cloexec ? FD_CLOEXEC : 0);
  }
}

TEST(SelfFdInstallerTest, RevokeClosesTheFd) {
  SelfFdInstaller installer;
  UniqueFd fd(memfd_create("ioctl_arg_test", MFD_CLOEXEC));
  ASSERT_TRUE(fd.valid());
  Result<int> installed = installer.Install(std::move(fd), true);
  ASSERT_TRUE(installed.ok());
  ASSERT_NE(fcntl(*installed, F_GETFD), -1);
  installer.Revoke(*installed);
  EXPECT_EQ(fcntl(*installed, F_GETFD), -1);
  EXPECT_EQ(errno, EBADF);
}

}  // namespace
}  // namespace dmaheap
