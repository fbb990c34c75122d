// dma-buf ioctls, mappings and CPU-access windows on buffer fds, against kernel-facts.md §1.2,
// §6 and §12.

#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstring>
#include <string>

#include "system/system_core.h"
#include "dmaheap/dmaheap.h"
#include "dmaheap/uapi/linux/dma-buf.h"
#include "test_util.h"

namespace dmaheap {
namespace {

class BufferOpsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    sys_ = testing_util::BootSystem(uint64_t{64} << 20);
    fd_ = std::move(sys_->Allocate("system", 16384)).value();
  }
  int Sync(uint64_t flags) {
    dma_buf_sync s{flags};
    return BufferIoctl(fd_.get(), DMA_BUF_IOCTL_SYNC, &s);
  }
  std::unique_ptr<System> sys_;
  UniqueFd fd_;
};

// §12: SYNC flags 0x1, 0x3, 0x6, 0x7 → 0 (no pairing check); 0x0, 0x8, 0xb → EINVAL.
TEST_F(BufferOpsTest, SyncFlagsAsLinux) {
  struct {
    uint64_t flags;
    int expected;
  } const rows[] = {{0x1, 0},       {0x2, 0},       {0x3, 0},       {0x5, 0},
                    {0x6, 0},       {0x7, 0},       {0x0, -EINVAL}, {0x4, -EINVAL},
                    {0x8, -EINVAL}, {0xb, -EINVAL}, {uint64_t{1} << 40, -EINVAL}};
  for (const auto& row : rows) {
    SCOPED_TRACE(row.flags);
    EXPECT_EQ(Sync(row.flags), row.expected);
  }
  // Only the valid calls reached the exporter.
  EXPECT_EQ(SystemCore::FindBuffer(fd_.get())->cpu_access_count(), 6u);
}

TEST_F(BufferOpsTest, SyncWithBadPointerIsEfault) {
  EXPECT_EQ(BufferIoctl(fd_.get(), DMA_BUF_IOCTL_SYNC, nullptr), -EFAULT);
}

TEST_F(BufferOpsTest, SetNameUpTo31Characters) {
  std::string name31(31, 'n');
  EXPECT_EQ(BufferIoctl(fd_.get(), DMA_BUF_SET_NAME_B, name31.data()), 0);
  EXPECT_EQ(SystemCore::FindBuffer(fd_.get())->name(), name31);
  char probe[] = "probe-name";
  EXPECT_EQ(BufferIoctl(fd_.get(), DMA_BUF_SET_NAME_A, probe), 0);
  EXPECT_EQ(SystemCore::FindBuffer(fd_.get())->name(), "probe-name");
  std::string name32(32, 'x');
  EXPECT_EQ(BufferIoctl(fd_.get(), DMA_BUF_SET_NAME_B, name32.data()), -EINVAL);
  std::string name63(63, 'y');
  EXPECT_EQ(BufferIoctl(fd_.get(), DMA_BUF_SET_NAME_B, name63.data()), -EINVAL);
  EXPECT_EQ(SystemCore::FindBuffer(fd_.get())->name(), "probe-name");  // unchanged by failures
  EXPECT_EQ(BufferIoctl(fd_.get(), DMA_BUF_SET_NAME_B, nullptr), -EFAULT);
}

// A short name at the very end of a readable page must not fault on the next page.
TEST_F(BufferOpsTest, SetNameStopsAtTheNul) {
  auto* pages = static_cast<char*>(
      mmap(nullptr, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  ASSERT_NE(pages, MAP_FAILED);
  ASSERT_EQ(mprotect(pages + 4096, 4096, PROT_NONE), 0);
  char* name = pages + 4096 - 4;
  std::memcpy(name, "abc", 4);
  EXPECT_EQ(BufferIoctl(fd_.get(), DMA_BUF_SET_NAME_B, name), 0);
  EXPECT_EQ(SystemCore::FindBuffer(fd_.get())->name(), "abc");
  std::memcpy(name, "abcd", 4);  // no NUL before the unreadable page
  EXPECT_EQ(BufferIoctl(fd_.get(), DMA_BUF_SET_NAME_B, name), -EFAULT);
  munmap(pages, 8192);
}

TEST_F(BufferOpsTest, UnknownIoctlIsEnotty) {
  int arg = 0;
  EXPECT_EQ(BufferIoctl(fd_.get(), _IOW('b', 9, int), &arg), -ENOTTY);
  EXPECT_EQ(BufferIoctl(fd_.get(), FIONREAD, &arg), -ENOTTY);
}

// §1.2, §12: EXPORT_SYNC_FILE gives a new close-on-exec fd (here an always-signalled stand-in,
// as in every mode), which IMPORT_SYNC_FILE takes back; bad flags are EINVAL.
TEST_F(BufferOpsTest, SyncFilesAsEveryModeServesThem) {
  dma_buf_export_sync_file exp{DMA_BUF_SYNC_RW, -1};
  ASSERT_EQ(BufferIoctl(fd_.get(), DMA_BUF_IOCTL_EXPORT_SYNC_FILE, &exp), 0);
  ASSERT_GE(exp.fd, 0);
  EXPECT_EQ(fcntl(exp.fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
  dma_buf_import_sync_file imp{DMA_BUF_SYNC_WRITE, exp.fd};
  EXPECT_EQ(BufferIoctl(fd_.get(), DMA_BUF_IOCTL_IMPORT_SYNC_FILE, &imp), 0);
  imp.fd = fd_.get();  // a dma-buf is no sync_file
  EXPECT_EQ(BufferIoctl(fd_.get(), DMA_BUF_IOCTL_IMPORT_SYNC_FILE, &imp), -EINVAL);
  close(exp.fd);
  dma_buf_export_sync_file bad{0, -1};
  EXPECT_EQ(BufferIoctl(fd_.get(), DMA_BUF_IOCTL_EXPORT_SYNC_FILE, &bad), -EINVAL);
  bad.flags = DMA_BUF_SYNC_END;
  EXPECT_EQ(BufferIoctl(fd_.get(), DMA_BUF_IOCTL_EXPORT_SYNC_FILE, &bad), -EINVAL);
}

TEST_F(BufferOpsTest, NonBufferFdsAreNotServed) {
  UniqueFd memfd(memfd_create("plain", MFD_CLOEXEC));
  dma_buf_sync s{DMA_BUF_SYNC_RW};
  EXPECT_EQ(BufferIoctl(memfd.get(), DMA_BUF_IOCTL_SYNC, &s), -ENOTTY);
  int pipefd[2];
  ASSERT_EQ(pipe(pipefd), 0);
  EXPECT_EQ(BufferIoctl(pipefd[0], DMA_BUF_IOCTL_SYNC, &s), -ENOTTY);  // the kernel's answer
  close(pipefd[0]);
  close(pipefd[1]);
  EXPECT_EQ(BufferIoctl(-1, DMA_BUF_IOCTL_SYNC, &s), -EBADF);
}

// §12: mmap of the whole buffer works; beyond the size, a pgoff past the end, a range crossing
// the end, or MAP_PRIVATE → EINVAL.
TEST_F(BufferOpsTest, MapChecksAsLinux) {
  auto whole = Mapping::Map(fd_.get(), 16384);
  ASSERT_TRUE(whole.ok());
  EXPECT_EQ(whole->size(), 16384u);
  auto tail = Mapping::Map(fd_.get(), 4096, PROT_READ | PROT_WRITE, MAP_SHARED, 12288);
  EXPECT_TRUE(tail.ok());
  EXPECT_EQ(Mapping::Map(fd_.get(), 16384 + 4096).error(), EINVAL);
  EXPECT_EQ(Mapping::Map(fd_.get(), 4096, PROT_READ, MAP_SHARED, 16384).error(), EINVAL);
  EXPECT_EQ(Mapping::Map(fd_.get(), 8192, PROT_READ, MAP_SHARED, 12288).error(), EINVAL);
  EXPECT_EQ(Mapping::Map(fd_.get(), 4096, PROT_READ, MAP_PRIVATE).error(), EINVAL);
  // Both mappings see the same memory.
  whole->bytes()[12288] = 0x42;
  EXPECT_EQ(tail->bytes()[0], 0x42);
}

TEST_F(BufferOpsTest, CpuAccessGuardIssuesStartAndEnd) {
  DmaBufRef buf = SystemCore::FindBuffer(fd_.get());
  {
    auto cpu = CpuAccess::Begin(fd_.get(), SyncType::kReadWrite);
    ASSERT_TRUE(cpu.ok());
    EXPECT_EQ(buf->cpu_access_count(), 1u);
    CpuAccess moved = std::move(cpu).value();
    EXPECT_EQ(buf->cpu_access_count(), 1u);
  }
  EXPECT_EQ(buf->cpu_access_count(), 2u);  // END exactly once, by the moved-to guard
  auto cpu = CpuAccess::Begin(fd_.get(), SyncType::kRead);
  ASSERT_TRUE(cpu.ok());
  EXPECT_TRUE(cpu->End().ok());
  EXPECT_TRUE(cpu->End().ok());  // a second End is a no-op
  EXPECT_EQ(buf->cpu_access_count(), 4u);
  UniqueFd memfd(memfd_create("plain", MFD_CLOEXEC));
  EXPECT_EQ(CpuAccess::Begin(memfd.get(), SyncType::kRead).error(), ENOTTY);
}

// A process without the exporting System (here a forked child, whose copy of the System is
// dead) still gets the kernel's SYNC validation on the buffers it holds.
TEST_F(BufferOpsTest, ForeignProcessGetsSyncValidation) {
  testing_util::Child child([&] {
    dma_buf_sync good{DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW};
    dma_buf_sync bad{0x8};
    if (BufferIoctl(fd_.get(), DMA_BUF_IOCTL_SYNC, &good) != 0) return 1;
    if (BufferIoctl(fd_.get(), DMA_BUF_IOCTL_SYNC, &bad) != -EINVAL) return 2;
    char name[] = "x";
    if (BufferIoctl(fd_.get(), DMA_BUF_SET_NAME_B, name) != -ENODEV) return 3;
    // The child's System is dead: allocating there is refused, not silently double-counted.
    auto fd = sys_->Allocate("system", 4096);
    if (fd.ok() || fd.error() != ENODEV) return 4;
    return 0;
  });
  EXPECT_EQ(child.Wait(), 0);
}

}  // namespace
}  // namespace dmaheap
