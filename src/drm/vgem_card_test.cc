// Which /dev/dri/cardN the vgem card answers as, and how its open answers flags (vgem_card.h).
// The card's DRM file against a running daemon is tested in tests/vgem_test.cc.

#include "drm/vgem_card.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <set>
#include <string>

namespace dmaheap {
namespace {

TEST(VgemCardTest, OnlyTheCanonicalCardPathsHaveANumber) {
  EXPECT_EQ(CardNumber("/dev/dri/card0"), 0);
  EXPECT_EQ(CardNumber("/dev/dri/card15"), 15);
  EXPECT_EQ(CardNumber("/dev/dri/card63"), 63);
  for (const char* other :
       {"/dev/dri/card64", "/dev/dri/card00", "/dev/dri/card01", "/dev/dri/card", "/dev/dri/card-1",
        "/dev/dri/card+1", "/dev/dri/card1x", "/dev/dri/card0/", "/dev/dri//card0",
        "/dev/dri/renderD128", "dev/dri/card0", "/dev/dri/card100", ""}) {
    EXPECT_EQ(CardNumber(other), -1) << other;
  }
}

// A host with these card nodes; counts what it is asked.
struct FakeHost {
  std::set<std::string> nodes;
  int asked = 0;
  bool Has(const std::string& path) {
    ++asked;
    return nodes.count(path) != 0;
  }
};

bool IsCard(FakeHost& host, const char* path) {
  return IsVgemCardPath(path, [&](const std::string& p) { return host.Has(p); });
}

TEST(VgemCardTest, TheFirstCardTheHostLacksIsVgemsAndNoRealNodeIsShadowed) {
  FakeHost none;
  EXPECT_TRUE(IsCard(none, "/dev/dri/card0"));
  EXPECT_FALSE(IsCard(none, "/dev/dri/card1"));

  FakeHost one_gpu{{"/dev/dri/card0"}};
  EXPECT_FALSE(IsCard(one_gpu, "/dev/dri/card0")) << "the host's own card";
  EXPECT_TRUE(IsCard(one_gpu, "/dev/dri/card1"));
  EXPECT_FALSE(IsCard(one_gpu, "/dev/dri/card2"));

  // A gap: card0 exists, card1 does not, card2 does. vgem is card1; card2 stays the host's.
  FakeHost gap{{"/dev/dri/card0", "/dev/dri/card2"}};
  EXPECT_TRUE(IsCard(gap, "/dev/dri/card1"));
  EXPECT_FALSE(IsCard(gap, "/dev/dri/card2"));
  EXPECT_FALSE(IsCard(gap, "/dev/dri/card3"));

  FakeHost full;
  for (int i = 0; i < kMaxDrmCards; ++i) full.nodes.insert(kDriCardPrefix + std::to_string(i));
  for (int i = 0; i < kMaxDrmCards; ++i) {
    EXPECT_FALSE(IsCard(full, (kDriCardPrefix + std::to_string(i)).c_str())) << i;
  }
  EXPECT_FALSE(IsCard(full, "/dev/dri/renderD128"));
}

TEST(VgemCardTest, AsksTheHostAboutNoMoreThanTheCardsUpToTheOneOpened) {
  FakeHost none;
  EXPECT_FALSE(IsCard(none, "/dev/dri/card5"));
  EXPECT_EQ(none.asked, 1) << "card0 is free: card5 cannot be vgem's";
  FakeHost some{{"/dev/dri/card0", "/dev/dri/card1"}};
  EXPECT_TRUE(IsCard(some, "/dev/dri/card2"));
  EXPECT_EQ(some.asked, 3);
  FakeHost other;
  EXPECT_FALSE(IsCard(other, "/dev/dri/renderD128"));
  EXPECT_EQ(other.asked, 0);
}

TEST(VgemCardTest, HostPathsAreSeenWithoutFollowingLinks) {
  EXPECT_TRUE(HostHasPath("/"));
  char tmpl[] = "/tmp/dh.XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string dir = tmpl;
  EXPECT_FALSE(HostHasPath(dir + "/card0"));
  ASSERT_EQ(symlink("/nonexistent/card0", (dir + "/card0").c_str()), 0);
  EXPECT_TRUE(HostHasPath(dir + "/card0")) << "a dangling link is still a node in the way";
  unlink((dir + "/card0").c_str());
  rmdir(dir.c_str());
}

TEST(VgemCardTest, OpenFlagsAnswerAsTheVfsAndDrmOpenDo) {
  for (int ok : {O_RDONLY, O_WRONLY, O_RDWR, O_RDWR | O_CLOEXEC, O_RDWR | O_CREAT,
                 O_RDWR | O_NONBLOCK, O_RDWR | O_TRUNC}) {
    EXPECT_EQ(CardOpenError(ok), 0) << ok;
  }
  EXPECT_EQ(CardOpenError(O_RDONLY | O_DIRECTORY), ENOTDIR);
  EXPECT_EQ(CardOpenError(O_RDWR | O_EXCL), EBUSY);
  EXPECT_EQ(CardOpenError(O_RDWR | O_CREAT | O_EXCL), EEXIST);
}

}  // namespace
}  // namespace dmaheap
