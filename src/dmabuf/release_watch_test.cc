// ReleaseWatch on memfds of the test's own: a watch reports its inode once the last fd and
// mapping are gone, a cancelled one never does, and in a root process each uid's watches sit on
// an instance of that uid's (the daemon's defence against one uid spending everyone's watches).

#include "dmabuf/release_watch.h"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <string>

namespace dmaheap {
namespace {

struct Memfd {
  UniqueFd fd;
  ino_t ino = 0;
  std::string path;
};

Memfd NewMemfd() {
  Memfd m;
  m.fd = UniqueFd(memfd_create("release-watch-test", MFD_CLOEXEC));
  EXPECT_EQ(ftruncate(m.fd.get(), 4096), 0);
  struct stat st {};
  EXPECT_EQ(fstat(m.fd.get(), &st), 0);
  m.ino = st.st_ino;
  m.path = "/proc/self/fd/" + std::to_string(m.fd.get());
  return m;
}

std::vector<ino_t> Collected(ReleaseWatch& watch) {
  std::vector<ino_t> out;
  watch.Collect(out);
  return out;
}

TEST(ReleaseWatchTest, ReportsTheInodeWhenTheLastHolderLetsGo) {
  auto watch = std::move(ReleaseWatch::Create()).value();
  Memfd m = NewMemfd();
  ASSERT_TRUE(watch->Add(geteuid(), m.path.c_str(), m.ino).ok());
  void* map = mmap(nullptr, 4096, PROT_READ, MAP_SHARED, m.fd.get(), 0);
  ASSERT_NE(map, MAP_FAILED);
  m.fd.reset();
  EXPECT_TRUE(Collected(*watch).empty()) << "the mapping still holds it";
  munmap(map, 4096);
  EXPECT_EQ(Collected(*watch), std::vector<ino_t>{m.ino});
  EXPECT_TRUE(Collected(*watch).empty()) << "reported once";
}

TEST(ReleaseWatchTest, ACancelledWatchReportsNothing) {
  auto watch = std::move(ReleaseWatch::Create()).value();
  Memfd m = NewMemfd();
  Result<ReleaseWatch::Token> token = watch->Add(geteuid(), m.path.c_str(), m.ino);
  ASSERT_TRUE(token.ok());
  watch->Cancel(*token);
  m.fd.reset();
  EXPECT_TRUE(Collected(*watch).empty());
}

TEST(ReleaseWatchTest, AGoneInodeIsENOENT) {
  auto watch = std::move(ReleaseWatch::Create()).value();
  EXPECT_EQ(watch->Add(geteuid(), "/proc/self/fd/99999", 1).error(), ENOENT);
}

TEST(ReleaseWatchTest, AsRootEachUidHasAnInstanceOfItsOwn) {
  if (geteuid() != 0) GTEST_SKIP() << "charging another uid needs CAP_SETUID";
  auto watch = std::move(ReleaseWatch::Create()).value();
  ASSERT_TRUE(watch->per_uid());
  Memfd a = NewMemfd(), b = NewMemfd(), c = NewMemfd();
  Result<ReleaseWatch::Token> ta = watch->Add(54321, a.path.c_str(), a.ino);
  Result<ReleaseWatch::Token> tb = watch->Add(54322, b.path.c_str(), b.ino);
  Result<ReleaseWatch::Token> tc = watch->Add(0, c.path.c_str(), c.ino);
  ASSERT_TRUE(ta.ok() && tb.ok() && tc.ok());
  EXPECT_EQ(ta->charged_to, 54321u);
  EXPECT_EQ(tb->charged_to, 54322u);
  EXPECT_EQ(tc->charged_to, 0u) << "root's own buffers are on the process's instance";
  std::vector<uid_t> uids = watch->charged_uids();
  std::sort(uids.begin(), uids.end());
  EXPECT_EQ(uids, (std::vector<uid_t>{54321, 54322}));
  EXPECT_EQ(geteuid(), 0u) << "the thread took its own uid back";
  // Releases on every instance arrive through the one fd.
  a.fd.reset();
  b.fd.reset();
  c.fd.reset();
  std::vector<ino_t> got = Collected(*watch);
  std::sort(got.begin(), got.end());
  std::vector<ino_t> want{a.ino, b.ino, c.ino};
  std::sort(want.begin(), want.end());
  EXPECT_EQ(got, want);
}

}  // namespace
}  // namespace dmaheap
