// `dmaheap top` as a person uses it: in an 80×24 terminal (tmux), refreshed every second, the
// heaps, the holders, the CMA map and the last failure on screen; the daemon going away is said
// on the screen; `q` quits. And `--once` for scripts.

#include <gtest/gtest.h>
#include <poll.h>
#include <unistd.h>

#include <functional>
#include <string>

#include "daemon_fixture.h"
#include "ipc/transport.h"

namespace dmaheap {
namespace {

using testing_util::Daemon;
using testing_util::DaemonAlloc;
using testing_util::RunProgram;

const std::string kTool = DMAHEAP_TOOL_PATH;

// A tmux session of its own, killed however the test ends.
class Tmux {
 public:
  Tmux(const Daemon& d) : name_("dmaheap-top-" + std::to_string(getpid())) {
    const std::string cmd =
        "env DMAHEAP_DIR=" + d.dir() + " DMAHEAP_CONTROL=" + d.control() + " " + kTool + " top";
    started_ = RunProgram({"/usr/bin/tmux", "-L", name_, "new-session", "-d", "-s", name_, "-x",
                           "80", "-y", "24", cmd},
                          {}) == 0;
  }
  ~Tmux() { RunProgram({"/usr/bin/tmux", "-L", name_, "kill-server"}, {}); }
  bool started() const { return started_; }
  std::string Screen() const {
    std::string out;
    RunProgram({"/usr/bin/tmux", "-L", name_, "capture-pane", "-p", "-t", name_}, {}, &out);
    return out;
  }
  void Keys(const std::string& keys) const {
    RunProgram({"/usr/bin/tmux", "-L", name_, "send-keys", "-t", name_, keys}, {});
  }
  bool Alive() const {
    return RunProgram({"/usr/bin/tmux", "-L", name_, "has-session", "-t", name_}, {}) == 0;
  }
  // Waits (up to 10 s, in 50 ms steps) for the screen to satisfy `ok`; the last screen.
  std::string WaitFor(const std::function<bool(const std::string&)>& ok) const {
    std::string screen;
    for (int i = 0; i < 200; ++i) {
      screen = Screen();
      if (ok(screen)) break;
      poll(nullptr, 0, 50);
    }
    return screen;
  }

 private:
  std::string name_;
  bool started_ = false;
};

bool Has(const std::string& s, const std::string& what) {
  return s.find(what) != std::string::npos;
}

TEST(TopTest, AnEightyByTwentyFourTerminalShowsTheHeapsLive) {
  Daemon d;
  ASSERT_TRUE(d.ready());
  Result<UniqueFd> cma = ConnectSocket(d.dir() + "/linux,cma");
  ASSERT_TRUE(cma.ok());
  Result<UniqueFd> a = DaemonAlloc(cma->get(), 8 << 20);
  ASSERT_TRUE(a.ok());
  Tmux tmux(d);
  ASSERT_TRUE(tmux.started()) << "tmux (scripts/setup.sh installs it)";
  // A capture can catch tmux halfway through drawing a frame: wait for the whole of what is
  // expected, then check each part (so a failure names the part missing).
  const std::string pid_row = std::to_string(getpid()) + " ";
  std::string screen = tmux.WaitFor([&](const std::string& s) {
    return Has(s, "largest free chunk 120.0 MiB") && Has(s, pid_row);
  });
  EXPECT_TRUE(Has(screen, "HEAP                      BUFFERS        BYTES         PEAK    FAILS"))
      << screen;
  EXPECT_TRUE(Has(screen, "linux,cma                       1      8.0 MiB      8.0 MiB        0"))
      << screen;
  EXPECT_TRUE(Has(screen, "CMA linux,cma: used 8.0 MiB of 128.0 MiB, largest free chunk 120.0 MiB"))
      << screen;
  EXPECT_TRUE(Has(screen, "[####")) << screen;
  EXPECT_TRUE(Has(screen, std::to_string(getpid()) + " ")) << "this process holds it\n" << screen;

  // A new buffer and a failure show up in a later frame, without a key pressed.
  Result<UniqueFd> b = DaemonAlloc(cma->get(), 16 << 20);
  ASSERT_TRUE(b.ok());
  EXPECT_EQ(DaemonAlloc(cma->get(), 512 << 20).error(), ENOMEM);
  screen =
      tmux.WaitFor([](const std::string& s) { return Has(s, "ENOMEM") && Has(s, "24.0 MiB"); });
  EXPECT_TRUE(Has(screen, "linux,cma                       2     24.0 MiB     24.0 MiB        1"))
      << screen;
  EXPECT_TRUE(Has(screen, "512.0 MiB  pid " + std::to_string(getpid()))) << screen;
  EXPECT_TRUE(Has(screen, "ENOMEM")) << screen;
  size_t lines = 0;
  for (char c : screen) lines += c == '\n';
  EXPECT_LE(lines, 24u) << screen;

  // The daemon goes away: the view says so and keeps running.
  d.Stop();
  screen = tmux.WaitFor([](const std::string& s) { return Has(s, "no daemon answers"); });
  EXPECT_TRUE(Has(screen, "no daemon answers")) << screen;
  EXPECT_TRUE(tmux.Alive());

  tmux.Keys("q");
  for (int i = 0; i < 200 && tmux.Alive(); ++i) poll(nullptr, 0, 50);
  EXPECT_FALSE(tmux.Alive()) << "q quits";
}

TEST(TopTest, OnceIsOneFrameForScripts) {
  Daemon d;
  ASSERT_TRUE(d.ready());
  Result<UniqueFd> sys = ConnectSocket(d.dir() + "/system");
  ASSERT_TRUE(sys.ok());
  Result<UniqueFd> a = DaemonAlloc(sys->get(), 1 << 20);
  ASSERT_TRUE(a.ok());
  std::string out;
  EXPECT_EQ(RunProgram({kTool, "top", "--once"}, d.Env(), &out), 0);
  EXPECT_EQ(out.find('\x1b'), std::string::npos) << "no escapes";
  EXPECT_TRUE(Has(out, "system                          1      1.0 MiB      1.0 MiB        0"))
      << out;
  EXPECT_TRUE(Has(out, "CMA linux,cma: used 0 of 128.0 MiB")) << out;
  EXPECT_TRUE(Has(out, "PID      PROCESS               BUFFERS        BYTES")) << out;
  EXPECT_EQ(RunProgram({kTool, "top"}, d.Env(), &out), 2) << "the live view needs a terminal";
}

}  // namespace
}  // namespace dmaheap
