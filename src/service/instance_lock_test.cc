// One daemon per heap directory: the instance lock names a live holder and is free once its
// holder dies, however it dies; a dead daemon's heap directory is cleared only when it holds
// nothing but sockets and no one answers on its control socket.

#include "service/instance_lock.h"

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <string>

#include "service/heap_dir.h"

namespace dmaheap {
namespace {

class InstanceLockTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/instance_lock_test.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    base_ = tmpl;
    lock_ = base_ + "/h.lock";
    dir_ = base_ + "/h";
    control_ = base_ + "/h.ctl";
  }
  void TearDown() override { (void)!system(("rm -rf '" + base_ + "'").c_str()); }

  std::string Read(const std::string& path) {
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
  }
  bool Exists(const std::string& path) {
    struct stat st {};
    return lstat(path.c_str(), &st) == 0;
  }
  // A socket file at `path` that no one listens on any more (what a dead daemon leaves).
  void DeadSocket(const std::string& path) { UniqueFd fd = ListenAt(path, 0600).value(); }

  std::string base_, lock_, dir_, control_;
};

TEST_F(InstanceLockTest, TheHolderIsNamedAndTheLockFreedWithIt) {
  pid_t previous = -1;
  {
    Result<InstanceLock> first = InstanceLock::Take(lock_, dir_, &previous);
    ASSERT_TRUE(first.ok());
    EXPECT_TRUE(first->held());
    EXPECT_EQ(previous, 0) << "a new lock file";
    EXPECT_EQ(Read(lock_), std::to_string(getpid()) + "\n");

    // A second open file description is a second daemon to flock.
    testing::internal::CaptureStderr();
    Result<InstanceLock> second = InstanceLock::Take(lock_, dir_);
    const std::string err = testing::internal::GetCapturedStderr();
    EXPECT_EQ(second.error(), EBUSY);
    EXPECT_NE(err.find("heap directory " + dir_ + " is served by a running dmaheapd (pid " +
                       std::to_string(getpid()) + ", holding " + lock_ + ")"),
              std::string::npos)
        << err;
    EXPECT_EQ(Read(lock_), std::to_string(getpid()) + "\n") << "the refused one wrote nothing";
  }
  EXPECT_FALSE(Exists(lock_)) << "removed by its holder";
  Result<InstanceLock> again = InstanceLock::Take(lock_, dir_);
  EXPECT_TRUE(again.ok());
}

TEST_F(InstanceLockTest, AKilledHoldersLockIsTakenOverNamingIt) {
  int ready[2];
  ASSERT_EQ(pipe(ready), 0);
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    Result<InstanceLock> held = InstanceLock::Take(lock_, dir_);
    (void)!write(ready[1], held.ok() ? "y" : "n", 1);
    for (;;) pause();
  }
  close(ready[1]);
  char answer = 0;
  ASSERT_EQ(read(ready[0], &answer, 1), 1);
  close(ready[0]);
  EXPECT_EQ(answer, 'y');
  testing::internal::CaptureStderr();
  EXPECT_EQ(InstanceLock::Take(lock_, dir_).error(), EBUSY);
  EXPECT_NE(testing::internal::GetCapturedStderr().find("(pid " + std::to_string(child) + ","),
            std::string::npos);
  kill(child, SIGKILL);
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(Exists(lock_)) << "kill -9 leaves the file behind";
  pid_t previous = 0;
  Result<InstanceLock> taken = InstanceLock::Take(lock_, dir_, &previous);
  ASSERT_TRUE(taken.ok());
  EXPECT_EQ(previous, child);
  EXPECT_EQ(Read(lock_), std::to_string(getpid()) + "\n");
}

TEST_F(InstanceLockTest, AGarbledLockFileNamesNoPid) {
  std::ofstream(lock_) << "not a pid\n";
  pid_t previous = -1;
  ASSERT_TRUE(InstanceLock::Take(lock_, dir_, &previous).ok());
  EXPECT_EQ(previous, 0);
}

TEST_F(InstanceLockTest, ADeadDaemonsSocketsAreCleared) {
  ASSERT_EQ(mkdir(dir_.c_str(), 0755), 0);
  DeadSocket(dir_ + "/system");
  DeadSocket(dir_ + "/linux,cma");
  DeadSocket(control_);
  testing::internal::CaptureStderr();
  EXPECT_TRUE(ClearStaleHeapDirectory(dir_, control_).ok());
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("took over heap directory " + dir_ + " (2 stale socket(s))"),
            std::string::npos)
      << err;
  EXPECT_FALSE(Exists(dir_));
  // Nothing there: nothing to do, nothing said.
  testing::internal::CaptureStderr();
  EXPECT_TRUE(ClearStaleHeapDirectory(dir_, control_).ok());
  EXPECT_EQ(testing::internal::GetCapturedStderr(), "");
}

TEST_F(InstanceLockTest, WhatIsNotADeadDaemonsIsLeftAlone) {
  // A directory holding a file that is not a socket.
  ASSERT_EQ(mkdir(dir_.c_str(), 0755), 0);
  DeadSocket(dir_ + "/system");
  std::ofstream(dir_ + "/notes") << "mine\n";
  testing::internal::CaptureStderr();
  EXPECT_EQ(ClearStaleHeapDirectory(dir_, control_).error(), EEXIST);
  std::string err = testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("heap directory " + dir_ + " exists and holds notes, which is not a socket"),
            std::string::npos)
      << err;
  EXPECT_TRUE(Exists(dir_ + "/notes"));
  EXPECT_TRUE(Exists(dir_ + "/system")) << "nothing removed";

  // A daemon that answers on the control socket without the lock.
  ASSERT_EQ(unlink((dir_ + "/notes").c_str()), 0);
  Result<UniqueFd> live = ListenAt(control_, 0600);
  ASSERT_TRUE(live.ok());
  testing::internal::CaptureStderr();
  EXPECT_EQ(ClearStaleHeapDirectory(dir_, control_).error(), EBUSY);
  err = testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("a daemon answers on " + control_ + " without holding the lock"),
            std::string::npos)
      << err;
  EXPECT_TRUE(Exists(dir_ + "/system"));

  // A file where the directory should be.
  live = Errno(EBADF);
  (void)!system(("rm -rf '" + dir_ + "'").c_str());
  std::ofstream(dir_) << "x";
  testing::internal::CaptureStderr();
  EXPECT_EQ(ClearStaleHeapDirectory(dir_, control_).error(), EEXIST);
  EXPECT_NE(testing::internal::GetCapturedStderr().find("is not a directory"), std::string::npos);
  EXPECT_TRUE(Exists(dir_));
}

}  // namespace
}  // namespace dmaheap
