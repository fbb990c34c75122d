// The shim's decisions without interposition: which fds it tracks, which paths it redirects,
// which ioctls make it look at an unknown fd, and how a buffer answers lseek.

#include "preload/fd_table.h"

#include <gtest/gtest.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <memory>

#include "dmaheap/uapi/linux/dma-buf.h"
#include "dmaheap/uapi/linux/dma-heap.h"
#include "dmaheap/unique_fd.h"

namespace dmaheap::preload {
namespace {

ino_t Inode(int fd) {
  struct stat st {};
  EXPECT_EQ(fstat(fd, &st), 0);
  return st.st_ino;
}

class FdTableTest : public ::testing::Test {
 protected:
  std::unique_ptr<FdTable> table_ = std::make_unique<FdTable>();
};

TEST_F(FdTableTest, UnmarkedAndOutOfRangeFdsAreNotOurs) {
  EXPECT_EQ(table_->KindOf(0), Kind::kNone);
  EXPECT_EQ(table_->KindOf(-1), Kind::kNone);
  EXPECT_EQ(table_->KindOf(kMaxTracked), Kind::kNone);
  table_->Mark(kMaxTracked, Kind::kBuffer, 1);  // ignored
  EXPECT_EQ(table_->KindOf(kMaxTracked), Kind::kNone);
  EXPECT_FALSE(table_->StillOurs(0));
  EXPECT_FALSE(table_->StillOurs(-1));
}

TEST_F(FdTableTest, MarkedFdIsOursWhileItRefersToTheSameInode) {
  UniqueFd buffer(memfd_create("dmaheap:system:1", MFD_CLOEXEC));
  ASSERT_TRUE(buffer.valid());
  table_->Mark(buffer.get(), Kind::kBuffer, Inode(buffer.get()));
  EXPECT_EQ(table_->KindOf(buffer.get()), Kind::kBuffer);
  struct stat st {};
  EXPECT_TRUE(table_->StillOurs(buffer.get(), &st));
  EXPECT_EQ(st.st_ino, Inode(buffer.get()));

  // The number reused for another file (dup2 over it, or exec): no longer ours, although the
  // table still says what it was.
  UniqueFd other(memfd_create("other", MFD_CLOEXEC));
  ASSERT_EQ(dup2(other.get(), buffer.get()), buffer.get());
  EXPECT_EQ(table_->KindOf(buffer.get()), Kind::kBuffer);
  EXPECT_FALSE(table_->StillOurs(buffer.get()));

  EXPECT_EQ(table_->Unmark(buffer.get()), Kind::kBuffer);
  EXPECT_EQ(table_->KindOf(buffer.get()), Kind::kNone);
  EXPECT_EQ(table_->Unmark(buffer.get()), Kind::kNone);
}

TEST_F(FdTableTest, ClosedFdIsNotOurs) {
  int fd = memfd_create("dmaheap:system:2", MFD_CLOEXEC);
  ASSERT_GE(fd, 0);
  table_->Mark(fd, Kind::kBuffer, Inode(fd));
  close(fd);
  EXPECT_FALSE(table_->StillOurs(fd));
  table_->Unmark(fd);
}

TEST_F(FdTableTest, DuplicateIsWhatItsOriginalIs) {
  UniqueFd buffer(memfd_create("dmaheap:system:3", MFD_CLOEXEC));
  table_->Mark(buffer.get(), Kind::kBuffer, Inode(buffer.get()));
  UniqueFd copy(dup(buffer.get()));
  table_->CopyMark(buffer.get(), copy.get());
  EXPECT_EQ(table_->KindOf(copy.get()), Kind::kBuffer);
  EXPECT_TRUE(table_->StillOurs(copy.get()));
  table_->CopyMark(buffer.get(), -1);  // ignored
  table_->CopyMark(-1, copy.get());    // ignored: the copy keeps its mark
  EXPECT_EQ(table_->KindOf(copy.get()), Kind::kBuffer);
}

// The inode is kept in 56 bits: one that differs only above them still matches, one that differs
// below does not.
TEST_F(FdTableTest, InodeIsComparedOnItsLow56Bits) {
  UniqueFd buffer(memfd_create("dmaheap:system:4", MFD_CLOEXEC));
  const ino_t ino = Inode(buffer.get());
  table_->Mark(buffer.get(), Kind::kHeap, ino | (ino_t{0xAB} << 56));
  EXPECT_TRUE(table_->StillOurs(buffer.get()));
  table_->Mark(buffer.get(), Kind::kHeap, ino + 1);
  EXPECT_FALSE(table_->StillOurs(buffer.get()));
}

TEST(HeapPathTest, OnlyDevDmaHeapAndItsEntriesAreRedirected) {
  std::string_view rest = "unset";
  EXPECT_TRUE(HeapPath("/dev/dma_heap", &rest));
  EXPECT_EQ(rest, "");
  EXPECT_TRUE(HeapPath("/dev/dma_heap/system", &rest));
  EXPECT_EQ(rest, "system");
  EXPECT_TRUE(HeapPath("/dev/dma_heap//linux,cma", &rest));
  EXPECT_EQ(rest, "linux,cma");
  EXPECT_TRUE(HeapPath("/dev/dma_heap/", &rest));
  EXPECT_EQ(rest, "");
  for (const char* other : {"/dev/dma_heapX", "/dev/dma_hea", "dev/dma_heap/system", "/dev/ion", "",
                            "/dev/dma_heap2/system"}) {
    EXPECT_FALSE(HeapPath(other, &rest)) << other;
  }
  EXPECT_FALSE(HeapPath(nullptr, &rest));
}

TEST(HeapPathTest, HeapNamesAreSingleEntries) {
  for (const char* good : {"system", "linux,cma", "carveout@60000000", "a"}) {
    EXPECT_TRUE(IsHeapName(good)) << good;
  }
  for (const char* bad : {"", ".", "..", "a/b", "system/"}) {
    EXPECT_FALSE(IsHeapName(bad)) << bad;
  }
  EXPECT_EQ(RedirectPath("/tmp/dh.x/h", ""), "/tmp/dh.x/h");
  EXPECT_EQ(RedirectPath("/tmp/dh.x/h", "system"), "/tmp/dh.x/h/system");
}

TEST(InterceptionTest, OnlyHeapDmaBufAndDrmIoctlTypesMakeAnUnknownFdLookedAt) {
  EXPECT_TRUE(MayBeOurIoctl(DMA_HEAP_IOCTL_ALLOC));
  EXPECT_TRUE(MayBeOurIoctl(DMA_BUF_IOCTL_SYNC));
  EXPECT_TRUE(MayBeOurIoctl(DMA_BUF_SET_NAME_A));
  EXPECT_TRUE(MayBeOurIoctl(DMA_BUF_IOCTL_EXPORT_SYNC_FILE));
  EXPECT_TRUE(MayBeOurIoctl(_IOWR('H', 1, int)));
  EXPECT_TRUE(MayBeOurIoctl(0xC0406400u)) << "DRM_IOCTL_VERSION: a vgem card's";
  EXPECT_TRUE(MayBeOurIoctl(0xC00C642Eu)) << "DRM_IOCTL_PRIME_FD_TO_HANDLE";
  EXPECT_FALSE(MayBeOurIoctl(FIONREAD));
  EXPECT_FALSE(MayBeOurIoctl(TCGETS));
  EXPECT_FALSE(MayBeOurIoctl(_IOR('I', 0, int))) << "ION's type is not served";
}

// §12: lseek SET 0 / END 0 → 0 / size; SET 100, CUR 0, END −10 → EINVAL.
TEST(InterceptionTest, BufferLseekAnswersAsADmaBuf) {
  EXPECT_EQ(BufferLseek(0, SEEK_SET, 16384).value(), 0);
  EXPECT_EQ(BufferLseek(0, SEEK_END, 16384).value(), 16384);
  EXPECT_EQ(BufferLseek(100, SEEK_SET, 16384).error(), EINVAL);
  EXPECT_EQ(BufferLseek(0, SEEK_CUR, 16384).error(), EINVAL);
  EXPECT_EQ(BufferLseek(-10, SEEK_END, 16384).error(), EINVAL);
  EXPECT_EQ(BufferLseek(0, SEEK_DATA, 16384).error(), EINVAL);
}

}  // namespace
}  // namespace dmaheap::preload
