// What an fd is, read from its /proc link: a dmaheap buffer (a memfd named
// "dmaheap:<heap>:<id>") and its heap, or an eventfd. Link targets are given as /proc shows
// them; real fds check that the kernel's spelling is the one parsed.

#include "platform/fd_info.h"

#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <string>

#include "dmaheap/unique_fd.h"

namespace dmaheap::sys {
namespace {

TEST(HeapOfLinkTargetTest, BufferLinks) {
  struct {
    const char* target;
    const char* heap;
  } const rows[] = {
      {"/memfd:dmaheap:system:12 (deleted)", "system"},
      {"/memfd:dmaheap:system:12", "system"},
      {"/memfd:dmaheap:camera:0 (deleted)", "camera"},
      // A heap name may hold ':' itself: the last ':' separates the id.
      {"/memfd:dmaheap:linux,cma:7 (deleted)", "linux,cma"},
      {"/memfd:dmaheap:a:b:3 (deleted)", "a:b"},
  };
  for (const auto& row : rows) {
    SCOPED_TRACE(row.target);
    EXPECT_EQ(HeapOfLinkTarget(row.target), row.heap);
  }
}

TEST(HeapOfLinkTargetTest, EverythingElseIsEmpty) {
  for (const char* target : {
           "",
           "/memfd:other:system:12 (deleted)",  // somebody else's memfd
           "/memfd:dmaheap (deleted)",
           "/memfd:dmaheap:",                  // the prefix alone
           "/memfd:dmaheap:system (deleted)",  // no id
           "/memfd:dmaheap::12 (deleted)",     // no heap name
           "/dmabuf:",                         // a kernel dma-buf
           "/dmabuf:system",
           "anon_inode:dmabuf",
           "memfd:dmaheap:system:12 (deleted)",  // no leading '/'
           "/tmp/memfd:dmaheap:system:12",
           "pipe:[1234]",
       }) {
    SCOPED_TRACE(target);
    EXPECT_EQ(HeapOfLinkTarget(target), "");
  }
}

TEST(FdInfoTest, BufferHeapOfARealMemfd) {
  UniqueFd buffer(memfd_create("dmaheap:camera:7", MFD_CLOEXEC));
  ASSERT_TRUE(buffer.valid());
  EXPECT_EQ(FdLinkTarget(buffer.get()).rfind(kBufferLinkPrefix, 0), 0u)
      << FdLinkTarget(buffer.get());
  std::string heap = "unchanged";
  EXPECT_TRUE(BufferHeapOfFd(buffer.get(), &heap));
  EXPECT_EQ(heap, "camera");
  EXPECT_TRUE(BufferHeapOfFd(buffer.get(), nullptr)) << "the heap name is optional";

  UniqueFd other(memfd_create("not-a-buffer", MFD_CLOEXEC));
  ASSERT_TRUE(other.valid());
  heap = "unchanged";
  EXPECT_FALSE(BufferHeapOfFd(other.get(), &heap));
  EXPECT_EQ(heap, "unchanged") << "left alone when the fd is no buffer";
}

TEST(FdInfoTest, PipeIsNeitherBufferNorEventFd) {
  int p[2];
  ASSERT_EQ(pipe2(p, O_CLOEXEC), 0);
  UniqueFd r(p[0]), w(p[1]);
  std::string heap = "unchanged";
  EXPECT_FALSE(BufferHeapOfFd(r.get(), &heap));
  EXPECT_EQ(heap, "unchanged");
  EXPECT_FALSE(IsEventFd(r.get()));
  EXPECT_FALSE(IsEventFd(w.get()));
}

TEST(FdInfoTest, EventFd) {
  UniqueFd event(eventfd(0, EFD_CLOEXEC));
  ASSERT_TRUE(event.valid());
  EXPECT_TRUE(IsEventFd(event.get()));
  EXPECT_FALSE(BufferHeapOfFd(event.get(), nullptr));
}

TEST(FdInfoTest, ClosedFd) {
  int p[2];
  ASSERT_EQ(pipe2(p, O_CLOEXEC), 0);
  close(p[0]);
  close(p[1]);
  EXPECT_EQ(FdLinkTarget(p[0]), "");
  EXPECT_FALSE(BufferHeapOfFd(p[0], nullptr));
  EXPECT_FALSE(IsEventFd(p[0]));
  EXPECT_EQ(FdLinkTarget(-1), "");
}

}  // namespace
}  // namespace dmaheap::sys
