// Every ALLOC input of kernel-facts.md §2.4–2.5, §11 and §12, through the heap ioctl adapter
// with real pointers in this process, on a test heap (no System). Expected errnos and
// copied-back bytes are written from those tables: what Linux answers, not what this
// implementation happens to do.

#include "heap/heap_ioctl.h"

#include <fcntl.h>
#include <linux/ioctl.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <array>
#include <cstring>
#include <vector>

#include "dmaheap/uapi/linux/dma-heap.h"
#include "heap/test_heap.h"
#include "test_util.h"

namespace dmaheap {
namespace {

using testing_util::BufferFds;

constexpr uint32_t kRdwrCloexec = O_RDWR | O_CLOEXEC;  // 0x80002, the selftest's default

// A caller's argument: `size` bytes laid out as {len, fd, fd_flags, heap_flags, tail...}.
struct Arg {
  std::vector<uint8_t> bytes;
  static Arg Make(size_t size, uint64_t len, uint32_t fd, uint32_t fd_flags, uint64_t heap_flags,
                  uint8_t tail_fill = 0xA5) {
    Arg a;
    a.bytes.assign(std::max<size_t>(size, 24), tail_fill);
    std::memcpy(&a.bytes[0], &len, 8);
    std::memcpy(&a.bytes[8], &fd, 4);
    std::memcpy(&a.bytes[12], &fd_flags, 4);
    std::memcpy(&a.bytes[16], &heap_flags, 8);
    a.bytes.resize(size);
    return a;
  }
  uint32_t fd() const {
    uint32_t v = 0;
    if (bytes.size() >= 12) std::memcpy(&v, &bytes[8], 4);
    return v;
  }
};

enum class Outcome { kFails, kAllocates };

struct Row {
  const char* what;
  unsigned int cmd;
  size_t size;  // bytes of the caller's struct
  uint64_t len;
  uint32_t fd;
  uint32_t fd_flags;
  uint64_t heap_flags;
  int expected_errno;        // 0 == success
  uint64_t expected_size;    // buffer size on success
};

constexpr uint64_t k1M = 1 << 20;

void PrintTo(const Row& row, std::ostream* os) { *os << row.what; }

const Row kRows[] = {
    // §7.2 / §11: the selftest's inputs.
    {"default 24-byte struct", DMA_HEAP_IOCTL_ALLOC, 24, 4096, 0, kRdwrCloexec, 0, 0, 4096},
    {"fd field non-zero", DMA_HEAP_IOCTL_ALLOC, 24, 4096, 1, kRdwrCloexec, 0, EINVAL, 0},
    {"fd_flags ~(O_RDWR|O_CLOEXEC)", DMA_HEAP_IOCTL_ALLOC, 24, 4096, 0, 0xFFF7FFFDu, 0, EINVAL, 0},
    {"heap_flags 0x111111", DMA_HEAP_IOCTL_ALLOC, 24, 4096, 0, kRdwrCloexec, 0x111111, EINVAL, 0},
    {"heap_flags 1<<63", DMA_HEAP_IOCTL_ALLOC, 24, 4096, 0, kRdwrCloexec, uint64_t{1} << 63,
     EINVAL, 0},
    // §12 rows.
    {"fd_flags O_RDWR|O_NONBLOCK", DMA_HEAP_IOCTL_ALLOC, 24, 4096, 0, O_RDWR | O_NONBLOCK, 0,
     EINVAL, 0},
    {"fd_flags O_RDWR|O_APPEND", DMA_HEAP_IOCTL_ALLOC, 24, 4096, 0, O_RDWR | O_APPEND, 0, EINVAL,
     0},
    {"heap_flags 1", DMA_HEAP_IOCTL_ALLOC, 24, 4096, 0, kRdwrCloexec, 1, EINVAL, 0},
    {"len 0", DMA_HEAP_IOCTL_ALLOC, 24, 0, 0, kRdwrCloexec, 0, EINVAL, 0},
    {"len 1 rounds to a page", DMA_HEAP_IOCTL_ALLOC, 24, 1, 0, kRdwrCloexec, 0, 0, 4096},
    {"len 4097 rounds to two pages", DMA_HEAP_IOCTL_ALLOC, 24, 4097, 0, kRdwrCloexec, 0, 0, 8192},
    {"len 2^64-4095 wraps to 0", DMA_HEAP_IOCTL_ALLOC, 24, ~uint64_t{0} - 4094, 0, kRdwrCloexec, 0,
     EINVAL, 0},
    {"len 2^64-1 wraps to 0", DMA_HEAP_IOCTL_ALLOC, 24, ~uint64_t{0}, 0, kRdwrCloexec, 0, EINVAL,
     0},
    // The kernel's system heap has no size check (it OOMs the machine); dmaheap refuses what
    // its memory cannot hold (§12, last row).
    {"len 2^64-4096 exceeds memory", DMA_HEAP_IOCTL_ALLOC, 24, ~uint64_t{0} - 4095, 0,
     kRdwrCloexec, 0, ENOMEM, 0},
    {"len 2^40 exceeds memory", DMA_HEAP_IOCTL_ALLOC, 24, uint64_t{1} << 40, 0, kRdwrCloexec, 0,
     ENOMEM, 0},
    {"len 2^63 exceeds memory", DMA_HEAP_IOCTL_ALLOC, 24, uint64_t{1} << 63, 0, kRdwrCloexec, 0,
     ENOMEM, 0},
    {"fd_flags O_RDONLY", DMA_HEAP_IOCTL_ALLOC, 24, 4096, 0, O_RDONLY, 0, 0, 4096},
    {"fd_flags O_WRONLY", DMA_HEAP_IOCTL_ALLOC, 24, 4096, 0, O_WRONLY, 0, 0, 4096},
    {"fd_flags O_ACCMODE (3) is valid", DMA_HEAP_IOCTL_ALLOC, 24, 4096, 0, 3, 0, 0, 4096},
    // §2.4: the number's type byte is not checked; any nr 0 is ALLOC.
    {"type 'X' nr 0", _IOWR('X', 0, dma_heap_allocation_data), 24, 4096, 0, kRdwrCloexec, 0, 0,
     4096},
    {"nr 1", _IOWR('H', 1, dma_heap_allocation_data), 24, 4096, 0, kRdwrCloexec, 0, EINVAL, 0},
    {"FIONREAD", FIONREAD, 24, 4096, 0, kRdwrCloexec, 0, EINVAL, 0},
    // §7.2 test_alloc_compat: older 16-byte and newer 48-byte callers.
    {"16-byte struct (0xC0104800)", 0xC0104800u, 16, k1M, 0, kRdwrCloexec, 0, 0, k1M},
    {"48-byte struct (0xC0304800)", 0xC0304800u, 48, k1M, 0, kRdwrCloexec, 0, 0, k1M},
    {"48-byte struct, bad fd_flags", 0xC0304800u, 48, k1M, 0, 0xFFF7FFFDu, 0, EINVAL, 0},
};

class HeapIoctlTest : public ::testing::TestWithParam<Row> {
 protected:
  // As ioctl(2) answers: 0 or -errno.
  int Ioctl(unsigned long cmd, void* arg) {
    AllocRequest request;
    request.heap = &harness_.heap();
    SelfIoctlArg user(arg);
    SelfFdInstaller installer;
    return -DmaHeapIoctl(static_cast<unsigned int>(cmd), request, user, installer);
  }

  testing_util::HeapHarness harness_{(uint64_t{64} << 20) >> 12};
};

TEST_P(HeapIoctlTest, AnswersAsLinux) {
  const Row& row = GetParam();
  SCOPED_TRACE(row.what);
  Arg arg = Arg::Make(row.size, row.len, row.fd, row.fd_flags, row.heap_flags);
  const Arg before = arg;
  const size_t fds_before = BufferFds().size();

  int rc = Ioctl(row.cmd, arg.bytes.data());
  EXPECT_EQ(rc, -row.expected_errno);

  if (row.expected_errno != 0) {
    // Copied back unchanged (the kernel copies back even on failure; nothing was modified).
    EXPECT_EQ(arg.bytes, before.bytes);
    EXPECT_EQ(BufferFds().size(), fds_before) << "a failed ALLOC must not leave an fd";
    return;
  }
  // Success: only the fd field changed; a larger caller's extra bytes come back unchanged.
  Arg expected = before;
  const int fd = static_cast<int>(arg.fd());
  ASSERT_GT(fd, 0);
  std::memcpy(&expected.bytes[8], &fd, 4);
  EXPECT_EQ(arg.bytes, expected.bytes);
  EXPECT_EQ(lseek(fd, 0, SEEK_END), static_cast<off_t>(row.expected_size));
  const int fl = fcntl(fd, F_GETFL);
  EXPECT_EQ(fl & O_ACCMODE, static_cast<int>(row.fd_flags & O_ACCMODE));
  EXPECT_EQ((fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0, (row.fd_flags & O_CLOEXEC) != 0);
  close(fd);
}

INSTANTIATE_TEST_SUITE_P(Rows, HeapIoctlTest, ::testing::ValuesIn(kRows),
                         [](const ::testing::TestParamInfo<Row>& info) {
                           return "row" + std::to_string(info.index);
                         });

using HeapIoctlEdgeTest = HeapIoctlTest;

// A 16-byte caller gets heap_flags zero-filled (so the ALLOC succeeds) and only 16 bytes back:
// the memory right after its struct is never written.
TEST_F(HeapIoctlEdgeTest, SmallerStructIsZeroExtendedAndNotOverwritten) {
  Arg arg = Arg::Make(24, 4096, 0, kRdwrCloexec, 0x111111);  // heap_flags beyond the 16 bytes
  ASSERT_EQ(Ioctl(0xC0104800u, arg.bytes.data()), 0);
  uint64_t tail;
  std::memcpy(&tail, &arg.bytes[16], 8);
  EXPECT_EQ(tail, 0x111111u);
  close(static_cast<int>(arg.fd()));
}

// _IOW only: input copied, nothing copied back. The kernel installs the fd and the caller never
// learns its number (it leaks, as on Linux).
TEST_F(HeapIoctlEdgeTest, WriteOnlyNumberAllocatesButCopiesNothingBack) {
  Arg arg = Arg::Make(24, 4096, 0, kRdwrCloexec, 0);
  const Arg before = arg;
  const auto fds_before = BufferFds();
  ASSERT_EQ(Ioctl(_IOW('H', 0, dma_heap_allocation_data), arg.bytes.data()), 0);
  EXPECT_EQ(arg.bytes, before.bytes);
  auto fds_after = BufferFds();
  ASSERT_EQ(fds_after.size(), fds_before.size() + 1);
  for (int fd : fds_after) {
    if (std::find(fds_before.begin(), fds_before.end(), fd) == fds_before.end()) close(fd);
  }
}

// _IOR only: nothing copied in (the kernel sees len 0 → EINVAL) but 24 zero bytes copied back.
TEST_F(HeapIoctlEdgeTest, ReadOnlyNumberFailsAndCopiesBackZeros) {
  Arg arg = Arg::Make(24, 4096, 0, kRdwrCloexec, 0);
  EXPECT_EQ(Ioctl(_IOR('H', 0, dma_heap_allocation_data), arg.bytes.data()), -EINVAL);
  EXPECT_EQ(arg.bytes, std::vector<uint8_t>(24, 0));
}

// _IO (no direction, size 0): nothing in, nothing out, len 0 → EINVAL.
TEST_F(HeapIoctlEdgeTest, NoDirectionNumberIsEinval) {
  Arg arg = Arg::Make(24, 4096, 0, kRdwrCloexec, 0);
  const Arg before = arg;
  EXPECT_EQ(Ioctl(_IO('H', 0), arg.bytes.data()), -EINVAL);
  EXPECT_EQ(arg.bytes, before.bytes);
}

TEST_F(HeapIoctlEdgeTest, NullAndBadPointersAreEfault) {
  EXPECT_EQ(Ioctl(DMA_HEAP_IOCTL_ALLOC, nullptr), -EFAULT);
  void* page = mmap(nullptr, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(page, MAP_FAILED);
  EXPECT_EQ(Ioctl(DMA_HEAP_IOCTL_ALLOC, page), -EFAULT);
  munmap(page, 4096);
  EXPECT_EQ(BufferFds().size(), 0u);
}

// A struct that straddles into unreadable memory: the copy-in of all _IOC_SIZE bytes fails.
TEST_F(HeapIoctlEdgeTest, StructCrossingIntoUnmappedMemoryIsEfault) {
  auto* pages = static_cast<uint8_t*>(
      mmap(nullptr, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  ASSERT_NE(pages, MAP_FAILED);
  ASSERT_EQ(mprotect(pages + 4096, 4096, PROT_NONE), 0);
  Arg arg = Arg::Make(24, 4096, 0, kRdwrCloexec, 0);
  uint8_t* at = pages + 4096 - 16;  // 16 readable bytes, 8 not
  std::memcpy(at, arg.bytes.data(), 16);
  EXPECT_EQ(Ioctl(DMA_HEAP_IOCTL_ALLOC, at), -EFAULT);
  munmap(pages, 8192);
}

// Copy-back into read-only memory fails after the allocation: EFAULT, as copy_to_user fails on
// Linux (where the fd is then leaked: the known defect of §2.4).
TEST_F(HeapIoctlEdgeTest, FailedCopyBackIsEfault) {
  auto* page = static_cast<uint8_t*>(
      mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
  ASSERT_NE(page, MAP_FAILED);
  Arg arg = Arg::Make(24, 4096, 0, kRdwrCloexec, 0);
  std::memcpy(page, arg.bytes.data(), 24);
  ASSERT_EQ(mprotect(page, 4096, PROT_READ), 0);
  const auto fds_before = BufferFds();
  EXPECT_EQ(Ioctl(DMA_HEAP_IOCTL_ALLOC, page), -EFAULT);
  for (int fd : BufferFds()) {
    if (std::find(fds_before.begin(), fds_before.end(), fd) == fds_before.end()) close(fd);
  }
  munmap(page, 4096);
}

// A large _IOC_SIZE (beyond the kernel's 128-byte stack buffer) works the same way.
TEST_F(HeapIoctlEdgeTest, LargeStructIsAccepted) {
  constexpr size_t kSize = 4000;
  Arg arg = Arg::Make(kSize, 4096, 0, kRdwrCloexec, 0, 0x5A);
  const Arg before = arg;
  ASSERT_EQ(Ioctl(_IOC(_IOC_READ | _IOC_WRITE, 'H', 0, kSize), arg.bytes.data()), 0);
  EXPECT_TRUE(std::equal(arg.bytes.begin() + 24, arg.bytes.end(), before.bytes.begin() + 24));
  close(static_cast<int>(arg.fd()));
}

TEST(HeapIoctlSizesTest, SplitsTheNumberLikeTheKernel) {
  auto s = DmaHeapIoctlSizes(DMA_HEAP_IOCTL_ALLOC);
  EXPECT_TRUE(s.valid);
  EXPECT_EQ(s.in_size, 24u);
  EXPECT_EQ(s.out_size, 24u);
  s = DmaHeapIoctlSizes(_IOW('H', 0, dma_heap_allocation_data));
  EXPECT_EQ(s.in_size, 24u);
  EXPECT_EQ(s.out_size, 0u);
  s = DmaHeapIoctlSizes(_IOR('H', 0, dma_heap_allocation_data));
  EXPECT_EQ(s.in_size, 0u);
  EXPECT_EQ(s.out_size, 24u);
  EXPECT_FALSE(DmaHeapIoctlSizes(_IOWR('H', 1, dma_heap_allocation_data)).valid);
}

}  // namespace
}  // namespace dmaheap
