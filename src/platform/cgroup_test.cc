// Which cgroup path charges a process's memory, from the /proc/PID/cgroup text of cgroup v1,
// v2 and hybrid hosts; and the interned lookup of a live process.
#include "platform/cgroup.h"

#include <gtest/gtest.h>
#include <unistd.h>

namespace dmaheap::sys {
namespace {

TEST(CgroupTest, TheMemoryControllersPathWinsOverTheUnifiedOne) {
  EXPECT_EQ(CgroupPathOf("12:cpuset:/\n5:memory:/user.slice/app\n0::/user.slice/x.scope\n"),
            "/user.slice/app");
  EXPECT_EQ(CgroupPathOf("4:cpu,memory,blkio:/jobs/one\n"), "/jobs/one") << "a joint hierarchy";
  EXPECT_EQ(CgroupPathOf("4:memoryless:/no\n0::/yes\n"), "/yes") << "whole names only";
}

TEST(CgroupTest, TheUnifiedHierarchyOtherwise) {
  EXPECT_EQ(CgroupPathOf("0::/system.slice/dmaheapd.service\n"), "/system.slice/dmaheapd.service");
  EXPECT_EQ(CgroupPathOf("0::/a:b\n"), "/a:b") << "a ':' in the path is the path's";
  EXPECT_EQ(CgroupPathOf("0::/\n"), "/");
}

TEST(CgroupTest, NoPathIsEmpty) {
  EXPECT_EQ(CgroupPathOf(""), "");
  EXPECT_EQ(CgroupPathOf("garbage\n3:cpu:/c\n"), "");
  EXPECT_EQ(CgroupPathOf("1:name=systemd"), "") << "no path field";
}

TEST(CgroupTest, ALiveProcessIsInternedAndAGoneOneIsNull) {
  const std::string* self = CgroupOf(getpid());
  ASSERT_NE(self, nullptr);
  EXPECT_EQ(self->front(), '/');
  EXPECT_EQ(CgroupOf(getpid()), self) << "one path, one pointer";
  EXPECT_EQ(CgroupOf(0x3fffffff), nullptr);
}

}  // namespace
}  // namespace dmaheap::sys
