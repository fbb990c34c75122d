// Access modes (kernel-facts.md §2.5, §12; userspace-facts.md): a buffer's file has exactly the
// requested access mode, a buffer without write access cannot be written by any route, and its
// size cannot change.

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "dmaheap/dmaheap.h"
#include "test_util.h"

namespace dmaheap {
namespace {

class AccessTest : public ::testing::Test {
 protected:
  void SetUp() override {
    sys_ = testing_util::BootSystem(uint64_t{16} << 20);
  }
  UniqueFd Alloc(uint64_t len, uint32_t flags) {
    return std::move(sys_->Allocate("system", len, flags)).value();
  }
  std::unique_ptr<System> sys_;
};

TEST_F(AccessTest, ReadOnlyBufferRefusesSharedWritableMapping) {
  UniqueFd fd = Alloc(8192, O_RDONLY | O_CLOEXEC);
  EXPECT_EQ(fcntl(fd.get(), F_GETFL) & O_ACCMODE, O_RDONLY);
  void* p = mmap(nullptr, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd.get(), 0);
  EXPECT_EQ(p, MAP_FAILED);
  EXPECT_EQ(errno, EACCES);
  auto map = Mapping::Map(fd.get(), 8192, PROT_READ);
  ASSERT_TRUE(map.ok());
  EXPECT_EQ(map->bytes()[8191], 0);
  EXPECT_EQ(write(fd.get(), "x", 1), -1);
}

// The inode of a memfd is 0666/0777: a holder could reopen /proc/self/fd/N read-write. The seal
// stops every write through such a reopen.
TEST_F(AccessTest, ProcReopenCannotWriteAReadOnlyBuffer) {
  UniqueFd fd = Alloc(4096, O_RDONLY | O_CLOEXEC);
  char path[64];
  std::snprintf(path, sizeof(path), "/proc/self/fd/%d", fd.get());
  UniqueFd rw(open(path, O_RDWR | O_CLOEXEC));
  if (rw.valid()) {
    EXPECT_EQ(write(rw.get(), "x", 1), -1);
    EXPECT_EQ(errno, EPERM);
    void* p = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, rw.get(), 0);
    EXPECT_EQ(p, MAP_FAILED);
    EXPECT_EQ(errno, EPERM);
    EXPECT_EQ(fallocate(rw.get(), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 4096), -1);
  }
  auto map = Mapping::Map(fd.get(), 4096, PROT_READ);
  ASSERT_TRUE(map.ok());
  EXPECT_EQ(map->bytes()[0], 0);
}

TEST_F(AccessTest, WriteOnlyAndNoAccessBuffersCannotBeMapped) {
  UniqueFd wo = Alloc(4096, O_WRONLY);
  EXPECT_EQ(fcntl(wo.get(), F_GETFL) & O_ACCMODE, O_WRONLY);
  EXPECT_EQ(Mapping::Map(wo.get(), 4096, PROT_READ).error(), EACCES);
  UniqueFd none = Alloc(4096, O_ACCMODE);
  EXPECT_EQ(fcntl(none.get(), F_GETFL) & O_ACCMODE, O_ACCMODE);
  EXPECT_EQ(Mapping::Map(none.get(), 4096, PROT_READ).error(), EACCES);
}

TEST_F(AccessTest, ReadWriteBufferIsSharedWritable) {
  UniqueFd fd = Alloc(4096, O_RDWR);
  EXPECT_EQ(fcntl(fd.get(), F_GETFL) & O_ACCMODE, O_RDWR);
  EXPECT_EQ(fcntl(fd.get(), F_GETFD) & FD_CLOEXEC, 0) << "no O_CLOEXEC unless asked";
  auto a = Mapping::Map(fd.get(), 4096);
  auto b = Mapping::Map(fd.get(), 4096);
  ASSERT_TRUE(a.ok() && b.ok());
  a->bytes()[10] = 99;
  EXPECT_EQ(b->bytes()[10], 99);
}

TEST_F(AccessTest, SizeIsPageAlignedAndCannotChange) {
  for (uint32_t flags : {uint32_t{O_RDWR}, uint32_t{O_RDONLY}}) {
    SCOPED_TRACE(flags);
    UniqueFd fd = Alloc(4097, flags);
    EXPECT_EQ(lseek(fd.get(), 0, SEEK_END), 8192);
    struct stat st {};
    ASSERT_EQ(fstat(fd.get(), &st), 0);
    EXPECT_EQ(st.st_size, 8192);
    // Shrinking or growing is refused (a kernel dma-buf says EINVAL; the memfd's seals say
    // EPERM — the shim maps it, see the README's deviation table).
    EXPECT_EQ(ftruncate(fd.get(), 4096), -1);
    EXPECT_EQ(ftruncate(fd.get(), 1 << 20), -1);
    EXPECT_EQ(fallocate(fd.get(), 0, 0, 1 << 20), -1);
    ASSERT_EQ(fstat(fd.get(), &st), 0);
    EXPECT_EQ(st.st_size, 8192);
  }
}

}  // namespace
}  // namespace dmaheap
