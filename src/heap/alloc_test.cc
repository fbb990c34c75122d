// The core's typed allocation call (DmaHeapAllocate) on a test heap: the kernel's validation
// order, the request's owner and name on the buffer, the heap's counters, and releases queued
// before an allocation processed first.

#include "heap/alloc.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include "heap/test_heap.h"

namespace dmaheap {
namespace {

class AllocTest : public ::testing::Test {
 protected:
  AllocRequest Request(uint64_t len) {
    AllocRequest request;
    request.heap = &harness_.heap();
    request.len = len;
    request.owner = Owner{1234, 5678, 910};
    return request;
  }
  testing_util::HeapHarness harness_{256};
};

TEST_F(AllocTest, ValidatesInTheKernelsOrder) {
  AllocRequest bad = Request(0);  // len 0 and bad flags: fd_flags are checked first
  bad.fd_flags = O_RDWR | O_NONBLOCK;
  bad.heap_flags = 1;
  EXPECT_EQ(DmaHeapAllocate(bad).error(), EINVAL);
  bad.fd_flags = O_RDWR;
  EXPECT_EQ(DmaHeapAllocate(bad).error(), EINVAL);
  bad.heap_flags = 0;
  EXPECT_EQ(DmaHeapAllocate(bad).error(), EINVAL);
  AllocRequest long_name = Request(4096);
  const std::string name(DMA_BUF_NAME_LEN, 'n');
  long_name.name = name;
  EXPECT_EQ(DmaHeapAllocate(long_name).error(), EINVAL);
  EXPECT_EQ(harness_.heap().counters().allocations.load(), 0u);
  EXPECT_EQ(harness_.heap().counters().failures.load(), 0u) << "refused before the heap ran";
}

TEST_F(AllocTest, BufferCarriesOwnerNameAndPageAlignedSize) {
  AllocRequest request = Request(5000);
  request.name = "preview";
  Result<Allocation> a = DmaHeapAllocate(request);
  ASSERT_TRUE(a.ok()) << a.error();
  EXPECT_EQ(a->buffer->size(), 8192u);
  EXPECT_EQ(lseek(a->fd.get(), 0, SEEK_END), 8192);
  EXPECT_EQ(a->buffer->owner().pid, 1234);
  EXPECT_EQ(a->buffer->owner().uid, 5678u);
  EXPECT_EQ(a->buffer->owner().gid, 910u);
  EXPECT_EQ(a->buffer->name(), "preview");
  EXPECT_EQ(a->buffer->exp_name(), "test");
  EXPECT_EQ(fcntl(a->fd.get(), F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
  const HeapCounters& c = harness_.heap().counters();
  EXPECT_EQ(c.allocations.load(), 1u);
  EXPECT_EQ(c.live_buffers.load(), 1u);
  EXPECT_EQ(c.live_bytes.load(), 8192u);
}

TEST_F(AllocTest, AccessModeIsTheRequests) {
  for (uint32_t mode : {O_RDONLY, O_WRONLY, O_RDWR}) {
    SCOPED_TRACE(mode);
    AllocRequest request = Request(4096);
    request.fd_flags = mode;
    Result<Allocation> a = DmaHeapAllocate(request);
    ASSERT_TRUE(a.ok());
    EXPECT_EQ(fcntl(a->fd.get(), F_GETFL) & O_ACCMODE, static_cast<int>(mode));
    EXPECT_EQ(a->buffer->f_flags(), mode);
  }
}

TEST_F(AllocTest, HeapFailureIsCountedAndLeavesNothing) {
  Result<Allocation> a = DmaHeapAllocate(Request(uint64_t{2} << 20));  // 512 pages of 256
  EXPECT_EQ(a.error(), ENOMEM);
  const HeapCounters& c = harness_.heap().counters();
  EXPECT_EQ(c.failures.load(), 1u);
  EXPECT_EQ(c.live_buffers.load(), 0u);
  EXPECT_EQ(harness_.buffers().live_count(), 0u);
}

// Memory a closed buffer held is back before the next allocation looks for it.
TEST_F(AllocTest, QueuedReleasesAreProcessedFirst) {
  Result<Allocation> all = DmaHeapAllocate(Request(256 * 4096));
  ASSERT_TRUE(all.ok());
  EXPECT_EQ(harness_.pages().free_pages(), 0u);
  all->fd.reset();
  all->buffer.reset();
  EXPECT_TRUE(DmaHeapAllocate(Request(4096)).ok());
  EXPECT_EQ(harness_.heap().counters().peak_bytes.load(), 256u * 4096);
}

}  // namespace
}  // namespace dmaheap
