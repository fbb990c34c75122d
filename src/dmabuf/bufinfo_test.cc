#include "dmabuf/bufinfo.h"

#include <sys/mman.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdio>
#include <sstream>
#include <string>

#include "dmabuf/test_exporter.h"
#include "test_util.h"

namespace dmaheap {
namespace {

using testing_util::TestBuffers;

// The bufinfo text of the table's live buffers, with holder counts from /proc.
std::string BufInfo(TestBuffers& buffers) {
  buffers.Live();
  std::vector<DmaBufRef> live = buffers.table().Snapshot();
  std::vector<ino_t> inodes;
  for (const DmaBufRef& b : live) inodes.push_back(b->ino());
  const dev_t dev = live.empty() ? 0 : live.front()->dev();
  return FormatBufInfo(live, CountHolders(dev, inodes));
}

TEST(BufInfoTest, EmptyTableHasHeaderAndTotals) {
  TestBuffers buffers("system");
  EXPECT_EQ(BufInfo(buffers),
            "\nDma-buf Objects:\n"
            "size    \tflags   \tmode    \tcount   \texp_name\tino     \tname\n"
            "\nTotal 0 objects, 0 bytes\n");
}

TEST(BufInfoTest, OneLinePerBufferInTheKernelFormat) {
  TestBuffers buffers("system");
  UniqueFd a = buffers.Alloc(8192, O_RDWR, "camera-frame");
  UniqueFd b = buffers.Alloc(4096, O_RDONLY);
  ASSERT_TRUE(a.valid() && b.valid());
  struct stat sa {}, sb {};
  fstat(a.get(), &sa);
  fstat(b.get(), &sb);

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
  EXPECT_EQ(BufInfo(buffers), expect);
}

// Attached devices are listed under each buffer, as dma_buf_debug_show prints them.
TEST(BufInfoTest, AttachedDevicesAreListed) {
  TestBuffers buffers("system");
  UniqueFd fd = buffers.Alloc(4096);
  ASSERT_TRUE(fd.valid());
  struct stat st {};
  fstat(fd.get(), &st);
  DmaBufRef buf = buffers.table().Lookup(st.st_dev, st.st_ino);
  ASSERT_NE(buf, nullptr);
  DmaDevice display_dev(DmaDeviceSpec{.name = "display"}, nullptr);
  DmaDevice codec_dev(DmaDeviceSpec{.name = "codec"}, nullptr);
  DmaBufAttachment* display = std::move(DmaBufAttach(*buf, display_dev)).value();
  DmaBufAttachment* codec = std::move(DmaBufAttach(*buf, codec_dev)).value();
  const std::string text = BufInfo(buffers);
  EXPECT_NE(text.find("\tAttached Devices:\n\tdisplay\n\tcodec\nTotal 2 devices attached\n\n"),
            std::string::npos)
      << text;
  DmaBufDetach(*buf, display);
  DmaBufDetach(*buf, codec);
  EXPECT_NE(BufInfo(buffers).find("\tAttached Devices:\nTotal 0 devices attached\n"),
            std::string::npos);
}

// The count column is every fd and mapping that refers to the buffer, in any process.
TEST(BufInfoTest, CountComesFromProc) {
  TestBuffers buffers;
  UniqueFd fd = buffers.Alloc(4096);
  ASSERT_TRUE(fd.valid());
  UniqueFd dup_fd(dup(fd.get()));
  void* map = mmap(nullptr, 4096, PROT_READ, MAP_SHARED, fd.get(), 0);
  ASSERT_NE(map, MAP_FAILED);
  struct stat st {};
  fstat(fd.get(), &st);
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
  munmap(map, 4096);
}

}  // namespace
}  // namespace dmaheap
