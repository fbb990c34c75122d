// The daemon's message ring: why an allocation was refused reaches `dmaheap dmesg`, stamped as
// the kernel's dmesg stamps it; and a detached daemon says nothing more on its launcher's
// terminal once it is ready (its launcher's stderr is closed, so a pipe reaches end of file).
// That daemon's DMAHEAP_DIR also has parents that do not exist yet: it makes them.

#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "daemon_fixture.h"
#include "ipc/transport.h"

namespace dmaheap {
namespace {

using testing_util::Daemon;
using testing_util::DaemonAlloc;
using testing_util::RunProgram;

const std::string kTool = DMAHEAP_TOOL_PATH;

// Every line of `text` starts "[SSSSS.UUUUUU] ".
bool Stamped(const std::string& text) {
  size_t at = 0;
  while (at < text.size()) {
    const size_t end = text.find('\n', at);
    const std::string line = text.substr(at, end - at);
    if (line.size() < 15 || line[0] != '[' || line[6] != '.' || line.compare(13, 2, "] ") != 0)
      return false;
    at = end == std::string::npos ? text.size() : end + 1;
  }
  return true;
}

// Whether `pid` still runs (not gone, not a zombie waiting for a reaper that is not us).
bool Running(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("State:", 0) == 0) return line.find('Z') == std::string::npos;
  }
  return false;
}

TEST(DmesgTest, WhyAnAllocationWasRefusedIsInTheRing) {
  Daemon d({"--heap-limit", "system=1M"});
  ASSERT_TRUE(d.ready());
  Result<UniqueFd> sock = ConnectSocket(d.dir() + "/system");
  ASSERT_TRUE(sock.ok());
  EXPECT_EQ(DaemonAlloc(sock->get(), 2 << 20).error(), ENOMEM);
  std::string out;
  ASSERT_EQ(RunProgram({kTool, "dmesg"}, d.Env(), &out), 0) << out;
  EXPECT_TRUE(Stamped(out)) << out;
  EXPECT_NE(out.find("] dmaheapd: serving 4 heap(s) in " + d.dir()), std::string::npos) << out;
  EXPECT_NE(out.find("] dmaheapd: uid 0: ALLOC of 2097152 bytes from system refused (ENOMEM): "
                     "the heap holds 0 bytes of its --heap-limit system=1048576"),
            std::string::npos)
      << out;
  int status = -1;
  EXPECT_EQ(d.Control(Op::kDmesg, &status), out);
  EXPECT_EQ(status, 0);
}

TEST(DmesgTest, ADetachedDaemonLeavesItsLaunchersTerminal) {
  char tmpl[] = "/tmp/dh-detach.XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string dir = std::string(tmpl) + "/not/yet/h";  // the daemon makes its parents
  const std::map<std::string, std::string> env = {{"DMAHEAP_DIR", dir},
                                                  {"DMAHEAP_CONTROL", dir + ".ctl"}};
  // The launcher returns once the daemon is ready, and the pipe it wrote to reaches its end
  // then: the detached daemon keeps no copy of it.
  std::string out;
  ASSERT_EQ(RunProgram({DMAHEAPD_PATH, "--heap-limit", "system=1M"}, env, &out, 20000), 0) << out;
  pid_t pid = 0;
  std::ifstream(dir + ".lock") >> pid;
  ASSERT_GT(pid, 0);
  struct Reaper {  // stops the daemon however the test ends
    pid_t pid;
    void Stop() {
      if (pid <= 0) return;
      kill(pid, SIGTERM);
      for (int i = 0; i < 200 && Running(pid); ++i) poll(nullptr, 0, 10);
      pid = -1;
    }
    ~Reaper() { Stop(); }
  } reaper{pid};
  EXPECT_NE(out.find("dmaheapd: serving 4 heap(s)"), std::string::npos) << out;
  Result<UniqueFd> sock = ConnectSocket(dir + "/system");
  ASSERT_TRUE(sock.ok());
  EXPECT_EQ(DaemonAlloc(sock->get(), 2 << 20).error(), ENOMEM);
  std::string dmesg;
  ASSERT_EQ(RunProgram({kTool, "dmesg"}, env, &dmesg), 0);
  EXPECT_NE(dmesg.find("ALLOC of 2097152 bytes from system refused"), std::string::npos) << dmesg;
  EXPECT_EQ(out.find("refused"), std::string::npos) << "said in the ring only";
  sock->reset();
  reaper.Stop();
  (void)!system(("rm -rf " + std::string(tmpl)).c_str());
}

}  // namespace
}  // namespace dmaheap
