// The memfd backing and the inotify release of buffers (DESIGN.md "Buffers"), on a BufferTable
// of its own with a test exporter: each case checks that the buffer is released exactly when
// the last holder lets go — no heap, no System.

#include "dmabuf/buffer_table.h"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cstring>
#include <vector>

#include "dmabuf/test_exporter.h"
#include "test_util.h"

namespace dmaheap {
namespace {

using testing_util::TestBuffers;

class BufferTableTest : public ::testing::Test {
 protected:
  UniqueFd Alloc(uint64_t size, uint32_t flags = O_RDWR | O_CLOEXEC) {
    UniqueFd fd = buffers_.Alloc(size, flags);
    EXPECT_TRUE(fd.valid());
    return fd;
  }
  size_t Live() { return buffers_.Live(); }

  TestBuffers buffers_;
  BufferTable* table_ = &buffers_.table();
};

TEST_F(BufferTableTest, MemfdIsNamedSizedAndSealed) {
  UniqueFd fd = Alloc(4 * 4096);
  char path[64], target[256];
  std::snprintf(path, sizeof(path), "/proc/self/fd/%d", fd.get());
  ssize_t n = readlink(path, target, sizeof(target) - 1);
  ASSERT_GT(n, 0);
  target[n] = '\0';
  EXPECT_EQ(std::strncmp(target, "/memfd:dmaheap:test:", 20), 0) << target;
  EXPECT_EQ(lseek(fd.get(), 0, SEEK_END), 4 * 4096);
  int seals = fcntl(fd.get(), F_GET_SEALS);
  EXPECT_EQ(seals & (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL),
            F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
  EXPECT_EQ(seals & F_SEAL_WRITE, 0);  // an O_RDWR buffer stays writable
  // Committed before the export returned: the blocks are allocated in the memfd already.
  struct stat st {};
  ASSERT_EQ(fstat(fd.get(), &st), 0);
  EXPECT_EQ(st.st_blocks * 512, 4 * 4096);
  EXPECT_EQ(fcntl(fd.get(), F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
}

// The daemon's policy: an O_RDWR buffer is left for the requester to commit; one without write
// access is committed here and sealed against writes.
TEST_F(BufferTableTest, CommitInRequesterLeavesReadWriteBuffersUncommitted) {
  TestBuffers daemon("system", CommitPolicy::kInRequester);
  UniqueFd rw_fd = daemon.Alloc(8192, O_RDWR);
  UniqueFd ro_fd = daemon.Alloc(8192, O_RDONLY);
  ASSERT_TRUE(rw_fd.valid() && ro_fd.valid());
  struct stat st {};
  ASSERT_EQ(fstat(rw_fd.get(), &st), 0);
  EXPECT_EQ(st.st_size, 8192);
  EXPECT_EQ(st.st_blocks, 0);
  ASSERT_EQ(fstat(ro_fd.get(), &st), 0);
  EXPECT_EQ(st.st_blocks * 512, 8192);
  EXPECT_NE(fcntl(ro_fd.get(), F_GET_SEALS) & F_SEAL_WRITE, 0);
  EXPECT_EQ(fcntl(ro_fd.get(), F_GETFL) & O_ACCMODE, O_RDONLY);
}

TEST_F(BufferTableTest, InstallRecordsOwnerAndNameOnce) {
  DmaBufRef buf = std::move(buffers_.Export(4096)).value();
  Result<UniqueFd> fd = table_->Install(buf, {Owner{42, 43, 44}, "camera-0", O_RDWR});
  ASSERT_TRUE(fd.ok());
  EXPECT_EQ(buf->owner().pid, 42);
  EXPECT_EQ(buf->owner().uid, 43u);
  EXPECT_EQ(buf->name(), "camera-0");
  EXPECT_EQ(table_->Install(buf, {Owner{}, "", O_RDWR}).error(), EBUSY);
  struct stat st {};
  ASSERT_EQ(fstat(fd->get(), &st), 0);
  EXPECT_EQ(table_->Lookup(st.st_dev, st.st_ino), buf);
}

// An export the core never installs (its heap failed after exporting) is released with its
// last reference, and is never listed.
TEST_F(BufferTableTest, ExportNeverInstalledIsReleasedWithItsReference) {
  DmaBufRef buf = std::move(buffers_.Export(4096)).value();
  EXPECT_EQ(buffers_.exporter().live(), 1);
  EXPECT_EQ(table_->live_count(), 0u);
  buf.reset();
  EXPECT_EQ(buffers_.released(), 1);
  EXPECT_EQ(buffers_.exporter().live(), 0);
  EXPECT_EQ(Live(), 0u);
}

TEST_F(BufferTableTest, CloseReleasesAtOnce) {
  UniqueFd fd = Alloc(1 << 20);
  EXPECT_EQ(Live(), 1u);
  EXPECT_EQ(buffers_.exporter().bytes(), 1u << 20);
  fd.reset();
  EXPECT_EQ(Live(), 0u);  // a close that has returned is visible to the next read of the queue
  EXPECT_EQ(buffers_.released(), 1);
  EXPECT_EQ(buffers_.exporter().bytes(), 0u);
}

TEST_F(BufferTableTest, MappingOutlivesEveryFd) {
  UniqueFd fd = Alloc(64 << 10);
  void* map = mmap(nullptr, 64 << 10, PROT_READ | PROT_WRITE, MAP_SHARED, fd.get(), 0);
  ASSERT_NE(map, MAP_FAILED);
  fd.reset();
  EXPECT_EQ(Live(), 1u);
  static_cast<char*>(map)[100] = 7;  // still usable
  munmap(map, 64 << 10);
  EXPECT_EQ(Live(), 0u);
}

TEST_F(BufferTableTest, DupKeepsTheBufferAlive) {
  UniqueFd fd = Alloc(4096);
  UniqueFd dup_fd(dup(fd.get()));
  fd.reset();
  EXPECT_EQ(Live(), 1u);
  dup_fd.reset();
  EXPECT_EQ(Live(), 0u);
}

TEST_F(BufferTableTest, ProcReopenKeepsTheBufferAlive) {
  UniqueFd fd = Alloc(4096);
  char path[64];
  std::snprintf(path, sizeof(path), "/proc/self/fd/%d", fd.get());
  UniqueFd reopened(open(path, O_RDONLY | O_CLOEXEC));
  ASSERT_TRUE(reopened.valid());
  fd.reset();
  EXPECT_EQ(Live(), 1u);
  reopened.reset();
  EXPECT_EQ(Live(), 0u);
}

TEST_F(BufferTableTest, LookupFindsLiveBuffersOnly) {
  UniqueFd fd = Alloc(4096);
  struct stat st {};
  ASSERT_EQ(fstat(fd.get(), &st), 0);
  DmaBufRef buf = table_->Lookup(st.st_dev, st.st_ino);
  ASSERT_NE(buf, nullptr);
  EXPECT_EQ(buf->size(), 4096u);
  EXPECT_EQ(buf->exp_name(), "test");
  EXPECT_EQ(buf->owner().pid, getpid());
  EXPECT_EQ(table_->Lookup(st.st_dev + 1, st.st_ino), nullptr) << "another device's inode";
  buf.reset();
  UniqueFd other(memfd_create("not-a-buffer", MFD_CLOEXEC));
  ASSERT_EQ(fstat(other.get(), &st), 0);
  EXPECT_EQ(table_->Lookup(st.st_dev, st.st_ino), nullptr);
}

// After fork the child's copy of the table is abandoned (the system layer does it from
// pthread_atfork): it must not consume the parent's release events, and exports nothing.
TEST_F(BufferTableTest, AbandonedCopyDoesNotStealReleases) {
  UniqueFd fd = Alloc(4096);
  int pipefd[2];
  ASSERT_EQ(pipe(pipefd), 0);
  testing_util::Child child([&] {
    table_->AbandonAfterFork();
    fd.reset();  // the child's copy of the fd
    char c;
    if (read(pipefd[0], &c, 1) != 1) return 1;
    if (table_->ProcessReleases() != 0) return 2;  // a dead copy: reads nothing
    return buffers_.Export(4096).error() == ENODEV ? 0 : 3;
  });
  close(pipefd[0]);
  fd.reset();
  // The child holds nothing any more; the parent closed: the event is queued for the parent.
  ASSERT_EQ(write(pipefd[1], "x", 1), 1);
  EXPECT_EQ(child.Wait(), 0);
  close(pipefd[1]);
  EXPECT_EQ(Live(), 0u);
}

// More releases than the inotify queue holds (max_queued_events, 16384 here): the queue
// overflows, and the table reconciles from /proc/self/fdinfo instead of losing buffers.
TEST_F(BufferTableTest, QueueOverflowIsReconciled) {
  rlimit old{};
  ASSERT_EQ(getrlimit(RLIMIT_NOFILE, &old), 0);
  FILE* f = std::fopen("/proc/sys/fs/inotify/max_queued_events", "r");
  ASSERT_NE(f, nullptr);
  unsigned long max_events = 0;
  ASSERT_EQ(std::fscanf(f, "%lu", &max_events), 1);
  std::fclose(f);
  const size_t count = max_events + 64;
  rlimit want{count + 256, std::max<rlim_t>(old.rlim_max, count + 256)};
  if (setrlimit(RLIMIT_NOFILE, &want) != 0) GTEST_SKIP() << "cannot raise RLIMIT_NOFILE";
  std::vector<UniqueFd> fds;
  fds.reserve(count);
  for (size_t i = 0; i < count; ++i) fds.push_back(Alloc(4096));
  ASSERT_EQ(Live(), count);
  fds.clear();  // all released, nothing read in between
  EXPECT_EQ(Live(), 0u);
  EXPECT_GE(table_->overflow_count(), 1u);
  EXPECT_EQ(buffers_.released(), static_cast<int>(count));
  setrlimit(RLIMIT_NOFILE, &old);
}

}  // namespace
}  // namespace dmaheap
