// A daemon killed with SIGKILL leaves its heap directory, control and device sockets and lock
// file behind; a new one starts on them at once. A second daemon on a directory that a live
// one serves is refused, naming it, and takes nothing from it.

#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <string>

#include "daemon_fixture.h"
#include "ipc/transport.h"

namespace dmaheap {
namespace {

using testing_util::Daemon;
using testing_util::DaemonAlloc;
using testing_util::RunProgram;

bool IsSocket(const std::string& path) {
  struct stat st {};
  return lstat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode);
}

// One ALLOC of `len` from the daemon's system heap; the errno when it fails.
int AllocErrno(const Daemon& d, uint64_t len) {
  Result<UniqueFd> sock = ConnectSocket(d.dir() + "/system");
  if (!sock.ok()) return sock.error();
  Result<UniqueFd> fd = DaemonAlloc(sock->get(), len);
  return fd.ok() ? 0 : fd.error();
}

TEST(RestartTest, AKilledDaemonIsReplacedAtOnce) {
  Daemon d;
  ASSERT_TRUE(d.ready());
  const pid_t first = d.pid();
  d.Kill();
  // What a crash leaves: the sockets, refusing connections, and the lock file.
  ASSERT_TRUE(IsSocket(d.dir() + "/system"));
  ASSERT_TRUE(IsSocket(d.control()));
  EXPECT_EQ(ConnectSocket(d.control()).error(), ECONNREFUSED);
  EXPECT_EQ(access((d.dir() + ".lock").c_str(), F_OK), 0);

  ASSERT_TRUE(d.Start()) << "restarted on the dead daemon's directory";
  EXPECT_NE(d.pid(), first);
  EXPECT_EQ(AllocErrno(d, 4096), 0);
  int status = -1;
  EXPECT_NE(d.Control(Op::kStats, &status), "");
  EXPECT_EQ(status, 0);

  // Stopped cleanly, it leaves nothing.
  EXPECT_EQ(d.Stop(), 0);
  EXPECT_NE(access(d.dir().c_str(), F_OK), 0);
  EXPECT_NE(access(d.control().c_str(), F_OK), 0);
  EXPECT_NE(access((d.dir() + ".lock").c_str(), F_OK), 0);
}

TEST(RestartTest, ASecondDaemonOnALiveDirectoryIsRefusedNamingTheFirst) {
  Daemon d;
  ASSERT_TRUE(d.ready());
  std::string out;
  const int code = RunProgram({DMAHEAPD_PATH, "--foreground"}, d.Env(), &out);
  EXPECT_NE(code, 0);
  EXPECT_NE(out.find("heap directory " + d.dir() + " is served by a running dmaheapd (pid " +
                     std::to_string(d.pid()) + ", holding " + d.dir() + ".lock)"),
            std::string::npos)
      << out;
  // The first daemon lost nothing.
  EXPECT_TRUE(IsSocket(d.dir() + "/system"));
  EXPECT_EQ(AllocErrno(d, 4096), 0);
  int status = -1;
  EXPECT_NE(d.Control(Op::kStats, &status), "");
  EXPECT_EQ(status, 0);
}

TEST(RestartTest, ADirectoryThatIsNotADaemonsIsLeftAlone) {
  std::string dir;
  Daemon d({}, [&](const std::string& path) {
    dir = path;
    mkdir(path.c_str(), 0755);
    (void)!close(open((path + "/mine").c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600));
  });
  EXPECT_FALSE(d.ready());
  EXPECT_EQ(access((dir + "/mine").c_str(), F_OK), 0);
  EXPECT_NE(access((dir + ".lock").c_str(), F_OK), 0) << "the refused daemon let its lock go";
}

}  // namespace
}  // namespace dmaheap
