// `dmaheap run` and the control commands of the `dmaheap` tool, as a user runs them.

#include <grp.h>
#include <signal.h>
#include <sys/stat.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <regex>
#include <string>

#include "daemon_fixture.h"
#include "test_util.h"

namespace dmaheap {
namespace {

using testing_util::Daemon;
using testing_util::RunProgram;

// The private directory a run announced ("serving 1 heap(s) in /tmp/dh.X/h").
std::string PrivateDir(const std::string& output) {
  std::smatch m;
  if (std::regex_search(output, m, std::regex("in (/tmp/dh\\.[A-Za-z0-9]+)/h,"))) return m[1];
  return {};
}

bool DaemonRunningFor(const std::string& dir) {
  std::string cmd = "pgrep -f dmaheapd >/dev/null && grep -l '" + dir +
                    "' /proc/[0-9]*/environ 2>/dev/null | grep -q .";
  return system(cmd.c_str()) == 0;
}

TEST(RunTest, DynamicUapiProgramPasses) {
  std::string out;
  EXPECT_EQ(RunProgram({DMAHEAP_TOOL_PATH, "run", "--", CONFORMANCE_PATH}, {}, &out), 0) << out;
  EXPECT_NE(out.find("failed: 0"), std::string::npos) << out;
  const std::string dir = PrivateDir(out);
  ASSERT_FALSE(dir.empty()) << out;
  EXPECT_EQ(access(dir.c_str(), F_OK), -1) << "private directory removed";
}

// A -static binary: no LD_PRELOAD reaches it; the seccomp supervisor serves open and ioctl.
TEST(RunTest, StaticUapiProgramPasses) {
  std::string out;
  EXPECT_EQ(RunProgram({DMAHEAP_TOOL_PATH, "run", "--", CONFORMANCE_STATIC_PATH, "--static-memfd"},
                       {}, &out),
            0)
      << out;
  EXPECT_NE(out.find("failed: 0"), std::string::npos) << out;
}

TEST(RunTest, ExitCodeAndCrashArePassedThroughAndEverythingIsTornDown) {
  std::string out;
  EXPECT_EQ(RunProgram({DMAHEAP_TOOL_PATH, "run", "--", "/bin/sh", "-c", "exit 7"}, {}, &out), 7);
  EXPECT_EQ(RunProgram({DMAHEAP_TOOL_PATH, "run", "--", "/bin/sh", "-c", "kill -SEGV $$"}, {},
                       &out),
            128 + SIGSEGV);
  const std::string dir = PrivateDir(out);
  ASSERT_FALSE(dir.empty()) << out;
  EXPECT_EQ(access(dir.c_str(), F_OK), -1);
  EXPECT_FALSE(DaemonRunningFor(dir));
  EXPECT_EQ(RunProgram({DMAHEAP_TOOL_PATH, "run", "--", "/nonexistent/cmd"}, {}, &out), 127);
  EXPECT_NE(out.find("/nonexistent/cmd"), std::string::npos) << out;
  EXPECT_EQ(RunProgram({DMAHEAP_TOOL_PATH, "run"}, {}, &out), 2);
}

// What follows `--` reaches the command as it was written, nothing added (a stray "--" once
// did: harmless to most programs, refused by Google Benchmark's flag parser).
TEST(RunTest, ArgumentsReachTheCommandExactly) {
  const std::string script = "printf '[%s]' \"$#\" \"$@\"";
  std::string out;
  EXPECT_EQ(RunProgram({DMAHEAP_TOOL_PATH, "run", "--", "/bin/sh", "-c", script, "sh", "a",
                        "--flag=1", "--", "b"},
                       {}, &out),
            0);
  EXPECT_NE(out.find("[4][a][--flag=1][--][b]"), std::string::npos) << out;
  EXPECT_EQ(RunProgram({DMAHEAP_TOOL_PATH, "run", "--board", "default", "--sanitize=sync", "--",
                        "/bin/sh", "-c", script, "sh"},
                       {}, &out),
            0);
  EXPECT_NE(out.find("[0]"), std::string::npos) << out;
  // Without "--": run's options end at the first word that is not one; the command's own
  // options (even ones named like run's) stay its own, in order.
  EXPECT_EQ(RunProgram({DMAHEAP_TOOL_PATH, "run", "--board=default", "/bin/sh", "-c", script,
                        "sh", "-n", "x", "--y", "--board", "z"},
                       {}, &out),
            0);
  EXPECT_NE(out.find("[5][-n][x][--y][--board][z]"), std::string::npos) << out;
}

TEST(RunTest, TerminatingRunStopsTheCommandAndTheDaemon) {
  int out[2];
  ASSERT_EQ(pipe(out), 0);
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, out[1], 2);
  posix_spawn_file_actions_addclose(&fa, out[0]);
  const char* argv[] = {DMAHEAP_TOOL_PATH, "run", "--", "/bin/sh", "-c",
                        "echo started >&2; exec sleep 600", nullptr};
  pid_t pid;
  ASSERT_EQ(posix_spawn(&pid, argv[0], &fa, nullptr, const_cast<char**>(argv), environ), 0);
  posix_spawn_file_actions_destroy(&fa);
  close(out[1]);
  std::string text;
  char buf[512];
  while (text.find("started") == std::string::npos) {
    ssize_t n = read(out[0], buf, sizeof(buf));
    if (n <= 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  const std::string dir = PrivateDir(text);
  kill(pid, SIGTERM);
  int status = 0;
  waitpid(pid, &status, 0);
  close(out[0]);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 128 + SIGTERM) << text;
  ASSERT_FALSE(dir.empty()) << text;
  EXPECT_EQ(access(dir.c_str(), F_OK), -1);
  EXPECT_FALSE(DaemonRunningFor(dir));
}

TEST(ToolTest, ControlCommandsTalkToTheDaemon) {
  Daemon d;
  ASSERT_TRUE(d.ready());
  std::string out;
  EXPECT_EQ(RunProgram({DMAHEAP_TOOL_PATH, "stats"}, d.Env(), &out), 0) << out;
  EXPECT_NE(out.find("heap system buffers 0"), std::string::npos) << out;
  EXPECT_NE(out.find("memory total_pages 1048576"), std::string::npos) << out;
  EXPECT_EQ(RunProgram({DMAHEAP_TOOL_PATH, "barrier"}, d.Env(), &out), 0) << out;
  EXPECT_EQ(RunProgram({DMAHEAP_TOOL_PATH, "bufinfo"}, d.Env(), &out), 0) << out;
  EXPECT_NE(out.find("Dma-buf Objects:"), std::string::npos) << out;
  d.Stop();
  EXPECT_EQ(RunProgram({DMAHEAP_TOOL_PATH, "stats"}, d.Env(), &out), 1);
  EXPECT_NE(out.find("cannot reach the daemon"), std::string::npos) << out;
}

}  // namespace
}  // namespace dmaheap

namespace dmaheap {
namespace {

using testing_util::Daemon;
using testing_util::RunProgram;

bool SocketExists(const Daemon& d, const std::string& heap) {
  struct stat st {};
  return stat((d.dir() + "/" + heap).c_str(), &st) == 0 && S_ISSOCK(st.st_mode);
}

// The module commands through the daemon's control socket: what `dmaheap insmod` loads stays
// loaded (it lives in the daemon), its heap's socket appears, and goes with rmmod.
TEST(ToolModuleTest, ModulesThroughTheDaemon) {
  Daemon d;
  ASSERT_TRUE(d.ready());
  std::string out;
  EXPECT_EQ(RunProgram({DMAHEAP_TOOL_PATH, "lsmod", "--proc-modules"}, d.Env(), &out), 0) << out;
  EXPECT_EQ(out.rfind("system_heap ", 0), 0u) << out;
  EXPECT_NE(out.find(" [permanent], Live 0x"), std::string::npos) << out;
  // kmod's table: its header and "%-19s %8ld  %d" columns; no [permanent] (kmod shows none).
  EXPECT_EQ(RunProgram({DMAHEAP_TOOL_PATH, "lsmod"}, d.Env(), &out), 0) << out;
  EXPECT_EQ(out.rfind("Module                  Size  Used by\nsystem_heap         ", 0), 0u) << out;
  const size_t row = out.find("\nsystem_heap");
  ASSERT_NE(row, std::string::npos);
  const std::string line = out.substr(row + 1, out.find('\n', row + 1) - row - 1);
  EXPECT_EQ(line.size(), 19u + 1 + 8 + 2 + 1) << "name, size and count in kmod's widths: " << line;
  EXPECT_EQ(line.substr(line.size() - 3), "  0") << line;
  EXPECT_EQ(out.find("[permanent]"), std::string::npos) << out;

  EXPECT_EQ(RunProgram({DMAHEAP_TOOL_PATH, "rmmod", "system_heap"}, d.Env(), &out), 1);
  EXPECT_NE(out.find("could not remove module system_heap: Device or resource busy"),
            std::string::npos)
      << out;
  auto sys_sock = ConnectSocket(d.dir() + "/system");
  ASSERT_TRUE(sys_sock.ok());
  EXPECT_TRUE(testing_util::DaemonAlloc(sys_sock->get(), 4096).ok()) << "still serving";

  EXPECT_EQ(RunProgram({DMAHEAP_TOOL_PATH, "modinfo", "system_heap"}, d.Env(), &out), 0) << out;
  EXPECT_NE(out.find("license:        GPL v2"), std::string::npos) << out;
  EXPECT_EQ(RunProgram({DMAHEAP_TOOL_PATH, "modinfo", "nope"}, d.Env(), &out), 1);

  EXPECT_FALSE(SocketExists(d, "test_heap"));
  EXPECT_EQ(RunProgram({DMAHEAP_TOOL_PATH, "insmod", TEST_HEAP_MODULE_PATH}, d.Env(), &out), 0)
      << out;
  EXPECT_TRUE(SocketExists(d, "test_heap"));
  {
    auto sock = ConnectSocket(d.dir() + "/test_heap");
    ASSERT_TRUE(sock.ok());
    auto fd = testing_util::DaemonAlloc(sock->get(), 8192);
    ASSERT_TRUE(fd.ok()) << fd.error();
    EXPECT_EQ(lseek(fd->get(), 0, SEEK_END), 8192);
    // A live buffer holds the module.
    EXPECT_EQ(RunProgram({DMAHEAP_TOOL_PATH, "rmmod", "test_heap_module"}, d.Env(), &out), 1);
    EXPECT_NE(out.find("Resource temporarily unavailable"), std::string::npos) << out;
  }
  d.Control(Op::kBarrier);
  EXPECT_EQ(RunProgram({DMAHEAP_TOOL_PATH, "rmmod", "test_heap_module"}, d.Env(), &out), 0) << out;
  EXPECT_FALSE(SocketExists(d, "test_heap")) << "the socket goes with the heap";
  EXPECT_TRUE(SocketExists(d, "system"));
  EXPECT_EQ(RunProgram({DMAHEAP_TOOL_PATH, "insmod", "/nonexistent.so"}, d.Env(), &out), 1);
}

TEST(ToolModuleTest, UnprivilegedUsersCannotManageModules) {
  Daemon d;
  ASSERT_TRUE(d.ready());
  testing_util::Child child([&] {
    if (setgroups(0, nullptr) != 0 || setresgid(54321, 54321, 54321) != 0 ||
        setresuid(54321, 54321, 54321) != 0) {
      return 10;
    }
    for (const auto& [k, v] : d.Env()) setenv(k.c_str(), v.c_str(), 1);
    int devnull = open("/dev/null", O_WRONLY);
    dup2(devnull, 2);
    execl(DMAHEAP_TOOL_PATH, DMAHEAP_TOOL_PATH, "insmod", TEST_HEAP_MODULE_PATH, nullptr);
    return 127;
  });
  EXPECT_EQ(child.Wait(), 1);
  EXPECT_FALSE(SocketExists(d, "test_heap"));
}

TEST(ToolModuleTest, DaemonLoadsItsModulesFile) {
  const std::string dir = std::string(TEST_HEAP_MODULE_PATH).substr(
      0, std::string(TEST_HEAP_MODULE_PATH).rfind('/'));
  char tmpl[] = "/tmp/dh-modules.XXXXXX";
  int fd = mkstemp(tmpl);
  ASSERT_GE(fd, 0);
  const std::string list = "# boot modules\nsystem_heap\n\ntest_heap_module  # a test heap\n";
  ASSERT_EQ(write(fd, list.data(), list.size()), static_cast<ssize_t>(list.size()));
  close(fd);
  setenv("DMAHEAP_MODULE_PATH", dir.c_str(), 1);
  Daemon d({"--modules", tmpl});
  unsetenv("DMAHEAP_MODULE_PATH");
  unlink(tmpl);
  ASSERT_TRUE(d.ready());
  EXPECT_TRUE(SocketExists(d, "system"));
  EXPECT_TRUE(SocketExists(d, "test_heap"));
}

}  // namespace
}  // namespace dmaheap
