// The memfd backing and the inotify release of buffers (DESIGN.md "Buffers"), through a booted
// System: each case checks that the pages come back exactly when the last holder lets go.

#include "dmabuf/buffer_table.h"

#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "core/kernel.h"
#include "dmaheap/dmaheap.h"
#include "test_util.h"

namespace dmaheap {
namespace {

class BufferTableTest : public ::testing::Test {
 protected:
  void SetUp() override {
    sys_ = testing_util::BootSystem(uint64_t{256} << 20);
  }
  uint64_t FreePages() { return sys_->Stats().free_pages; }
  uint64_t TotalPages() { return sys_->Stats().total_pages; }
  UniqueFd Alloc(uint64_t len, uint32_t flags = kDefaultFdFlags) {
    auto fd = sys_->Allocate("system", len, flags);
    EXPECT_TRUE(fd.ok()) << fd.error();
    return fd.ok() ? std::move(fd).value() : UniqueFd();
  }
  std::unique_ptr<System> sys_;
};

TEST_F(BufferTableTest, MemfdIsNamedSizedAndSealed) {
  UniqueFd fd = Alloc(3 * 4096 + 1);
  char path[64], target[256];
  std::snprintf(path, sizeof(path), "/proc/self/fd/%d", fd.get());
  ssize_t n = readlink(path, target, sizeof(target) - 1);
  ASSERT_GT(n, 0);
  target[n] = '\0';
  EXPECT_EQ(std::strncmp(target, "/memfd:dmaheap:system:", 22), 0) << target;
  EXPECT_EQ(lseek(fd.get(), 0, SEEK_END), 4 * 4096);
  int seals = fcntl(fd.get(), F_GET_SEALS);
  EXPECT_EQ(seals & (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL),
            F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
  EXPECT_EQ(seals & F_SEAL_WRITE, 0);  // an O_RDWR buffer stays writable
  // Committed before ALLOC returned: the blocks are allocated in the memfd already.
  struct stat st {};
  ASSERT_EQ(fstat(fd.get(), &st), 0);
  EXPECT_EQ(st.st_blocks * 512, 4 * 4096);
}

TEST_F(BufferTableTest, CloseReleasesAtOnce) {
  const uint64_t total = TotalPages();
  UniqueFd fd = Alloc(1 << 20);
  EXPECT_EQ(FreePages(), total - 256);
  fd.reset();
  EXPECT_EQ(FreePages(), total);  // a close that has returned is visible to the next stats read
  EXPECT_EQ(sys_->kernel().buffers().live_count(), 0u);
}

TEST_F(BufferTableTest, MappingOutlivesEveryFd) {
  const uint64_t total = TotalPages();
  UniqueFd fd = Alloc(64 << 10);
  auto map = Mapping::Map(fd.get(), 64 << 10);
  ASSERT_TRUE(map.ok());
  fd.reset();
  EXPECT_EQ(FreePages(), total - 16);
  map->bytes()[100] = 7;  // still usable
  map->reset();
  EXPECT_EQ(FreePages(), total);
}

TEST_F(BufferTableTest, DupKeepsTheBufferAlive) {
  const uint64_t total = TotalPages();
  UniqueFd fd = Alloc(4096);
  UniqueFd dup_fd(dup(fd.get()));
  fd.reset();
  EXPECT_EQ(FreePages(), total - 1);
  dup_fd.reset();
  EXPECT_EQ(FreePages(), total);
}

TEST_F(BufferTableTest, ProcReopenKeepsTheBufferAlive) {
  const uint64_t total = TotalPages();
  UniqueFd fd = Alloc(4096);
  char path[64];
  std::snprintf(path, sizeof(path), "/proc/self/fd/%d", fd.get());
  UniqueFd reopened(open(path, O_RDONLY | O_CLOEXEC));
  ASSERT_TRUE(reopened.valid());
  fd.reset();
  EXPECT_EQ(FreePages(), total - 1);
  reopened.reset();
  EXPECT_EQ(FreePages(), total);
}

TEST_F(BufferTableTest, LookupFindsLiveBuffersOnly) {
  UniqueFd fd = Alloc(4096);
  DmaBufRef buf = Kernel::FindBuffer(fd.get());
  ASSERT_NE(buf, nullptr);
  EXPECT_EQ(buf->size(), 4096u);
  EXPECT_EQ(buf->exp_name(), "system");
  EXPECT_EQ(buf->owner().pid, getpid());
  buf.reset();
  UniqueFd other(memfd_create("not-a-buffer", MFD_CLOEXEC));
  EXPECT_EQ(Kernel::FindBuffer(other.get()), nullptr);
}

// A forked child inherits the System; its copy must not consume the parent's release events.
TEST_F(BufferTableTest, ForkedChildDoesNotStealReleases) {
  const uint64_t total = TotalPages();
  UniqueFd fd = Alloc(4096);
  int pipefd[2];
  ASSERT_EQ(pipe(pipefd), 0);
  testing_util::Child child([&] {
    fd.reset();  // the child's copy of the fd
    char c;
    if (read(pipefd[0], &c, 1) != 1) return 1;
    sys_->Drain();  // a dead copy: must read nothing
    return sys_->Allocate("system", 4096).error() == ENODEV ? 0 : 2;
  });
  close(pipefd[0]);
  fd.reset();
  // The child still holds nothing; the parent closed: the event is queued for the parent.
  ASSERT_EQ(write(pipefd[1], "x", 1), 1);
  EXPECT_EQ(child.Wait(), 0);
  close(pipefd[1]);
  EXPECT_EQ(FreePages(), total);
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
  const uint64_t total = TotalPages();
  std::vector<UniqueFd> fds;
  fds.reserve(count);
  for (size_t i = 0; i < count; ++i) fds.push_back(Alloc(4096));
  ASSERT_EQ(FreePages(), total - count);
  fds.clear();  // all released, nothing drained in between
  EXPECT_EQ(FreePages(), total);
  EXPECT_GE(sys_->kernel().buffers().overflow_count(), 1u);
  EXPECT_EQ(sys_->kernel().buffers().live_count(), 0u);
  setrlimit(RLIMIT_NOFILE, &old);
}

}  // namespace
}  // namespace dmaheap
