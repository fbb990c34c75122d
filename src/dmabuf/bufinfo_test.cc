#include "dmabuf/bufinfo.h"

#include <sys/mman.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdio>
#include <sstream>
#include <string>

#include "dmaheap/dmaheap.h"
#include "dmaheap/uapi/linux/dma-buf.h"
#include "test_util.h"

namespace dmaheap {
namespace {

std::unique_ptr<System> Boot() {
  BootOptions options;
  options.ram_bytes = 64 << 20;
  return std::move(System::Boot(options)).value();
}

TEST(BufInfoTest, EmptyTableHasHeaderAndTotals) {
  auto sys = Boot();
  EXPECT_EQ(sys->BufInfo(),
            "\nDma-buf Objects:\n"
            "size    \tflags   \tmode    \tcount   \texp_name\tino     \tname\n"
            "\nTotal 0 objects, 0 bytes\n");
}

TEST(BufInfoTest, OneLinePerBufferInTheKernelFormat) {
  auto sys = Boot();
  auto a = sys->Allocate("system", 8192);
  auto b = sys->Allocate("system", 100, O_RDONLY);
  ASSERT_TRUE(a.ok() && b.ok());
  char name[] = "camera-frame";
  ASSERT_EQ(BufferIoctl(a->get(), DMA_BUF_SET_NAME_B, name), 0);
  struct stat sa {}, sb {};
  fstat(a->get(), &sa);
  fstat(b->get(), &sb);

  char expect[1024];
  std::snprintf(expect, sizeof(expect),
                "\nDma-buf Objects:\n"
                "size    \tflags   \tmode    \tcount   \texp_name\tino     \tname\n"
                "00008192\t00000002\t00080003\t00000001\tsystem\t%08lu\tcamera-frame\n"
                "\tAttached Devices:\nTotal 0 devices attached\n\n"
                "00004096\t00000000\t00080001\t00000001\tsystem\t%08lu\t<none>\n"
                "\tAttached Devices:\nTotal 0 devices attached\n\n"
                "\nTotal 2 objects, 12288 bytes\n",
                static_cast<unsigned long>(sa.st_ino), static_cast<unsigned long>(sb.st_ino));
  EXPECT_EQ(sys->BufInfo(), expect);
}

// The count column is every fd and mapping that refers to the buffer, in any process.
TEST(BufInfoTest, CountComesFromProc) {
  auto sys = Boot();
  auto fd = sys->Allocate("system", 4096);
  ASSERT_TRUE(fd.ok());
  UniqueFd dup_fd(dup(fd->get()));
  auto map = Mapping::Map(fd->get(), 4096);
  ASSERT_TRUE(map.ok());
  struct stat st {};
  fstat(fd->get(), &st);
  auto counts = CountHolders(st.st_dev, {st.st_ino});
  EXPECT_EQ(counts[st.st_ino], 3);  // two fds + one mapping

  int pipefd[2];
  ASSERT_EQ(pipe(pipefd), 0);
  testing_util::Child child([&] {
    char c;
    return read(pipefd[0], &c, 1) == 1 ? 0 : 1;  // holds the inherited fds until told
  });
  counts = CountHolders(st.st_dev, {st.st_ino});
  EXPECT_EQ(counts[st.st_ino], 6);  // the child inherited both fds and the mapping
  ASSERT_EQ(write(pipefd[1], "x", 1), 1);
  EXPECT_EQ(child.Wait(), 0);
  close(pipefd[0]);
  close(pipefd[1]);
  EXPECT_EQ(CountHolders(st.st_dev, {st.st_ino})[st.st_ino], 3);
}

}  // namespace
}  // namespace dmaheap
