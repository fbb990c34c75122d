// dmaheapd's configuration file (--config, packaging/dmaheapd.conf): every option can be set
// there, lists and repeated lines both work, the command line replaces what the file says, and a
// mistake stops the daemon naming the file's line.

#include <fcntl.h>
#include <gtest/gtest.h>
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

class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/dh-conf.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override { (void)!system(("rm -rf '" + dir_ + "'").c_str()); }

  std::string Write(const std::string& text) {
    const std::string path = dir_ + "/dmaheapd.conf";
    std::ofstream(path) << text;
    return path;
  }
  // dmaheapd with `args`, expected to refuse to start: its exit code, its words in *out.
  int Refused(const std::vector<std::string>& args, std::string* out) {
    std::vector<std::string> argv{DMAHEAPD_PATH, "--foreground"};
    argv.insert(argv.end(), args.begin(), args.end());
    return RunProgram(argv, {{"DMAHEAP_DIR", dir_ + "/h"}, {"DMAHEAP_CONTROL", dir_ + "/h.ctl"}},
                      out, 20000);
  }

  std::string dir_;
};

int AllocErrno(const Daemon& d, const std::string& heap, uint64_t len) {
  Result<UniqueFd> sock = ConnectSocket(d.dir() + "/" + heap);
  if (!sock.ok()) return sock.error();
  Result<UniqueFd> fd = DaemonAlloc(sock->get(), len);
  return fd.ok() ? 0 : fd.error();
}

TEST_F(ConfigTest, EverySettingComesFromTheFile) {
  const std::string conf = Write(
      "# the hikey960 board with only its system heap module\n"
      "board = \"hikey960\"\n"
      "load = [\"system_heap\"]\n"
      "heap-limit = [\"system=1M\"]\n"
      "heap-limit = \"system-uncached=2M\"   # repeated lines add to the list\n"
      "uid-limit = \"512M\"\n"
      "heap-mode = \"system-uncached=0600\"\n");
  Daemon d({"--config", conf});
  ASSERT_TRUE(d.ready());
  EXPECT_EQ(access((d.dir() + "/system").c_str(), F_OK), 0);
  EXPECT_NE(access((d.dir() + "/linux,cma").c_str(), F_OK), 0) << "cma_heap was not loaded";
  struct stat st {};
  ASSERT_EQ(stat((d.dir() + "/system-uncached").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(d.Stat("limit heap system", "bytes"), 1 << 20);
  EXPECT_EQ(d.Stat("limit heap system-uncached", "bytes"), 2 << 20);
  EXPECT_EQ(d.Stat("memory", "total_pages"), 785408) << "hikey960's memory";
  EXPECT_EQ(AllocErrno(d, "system", 1 << 20), 0);
  EXPECT_EQ(AllocErrno(d, "system", 2 << 20), ENOMEM) << "over the file's heap limit";
  EXPECT_EQ(d.Stat("limit heap system", "denied"), 1);
  EXPECT_EQ(d.Stat("uid 0", "limit"), 512 << 20);
}

TEST_F(ConfigTest, TheCommandLineReplacesTheFilesValue) {
  const std::string conf = Write("heap-limit = [\"system=1M\", \"system-uncached=1M\"]\n");
  Daemon d({"--config", conf, "--heap-limit", "system=4M"});
  ASSERT_TRUE(d.ready());
  EXPECT_EQ(d.Stat("limit heap system", "bytes"), 4 << 20);
  EXPECT_EQ(d.Stat("limit heap system-uncached", "bytes"), -1) << "the whole list is replaced";
}

TEST_F(ConfigTest, AnUnknownNameStopsTheDaemonWithItsLine) {
  const std::string conf = Write("board = \"default\"\n\n  bord = \"hikey960\"\n");
  std::string out;
  EXPECT_EQ(Refused({"--config", conf}, &out), 2);
  EXPECT_NE(out.find("dmaheapd: " + conf + ":3: bord: not a dmaheapd setting"), std::string::npos)
      << out;
}

TEST_F(ConfigTest, ABadValueStopsTheDaemonWithItsLine) {
  std::string out;
  std::string conf = Write("exempt-uid = [1000]\ndefault-uid-buffers = 0\n");
  EXPECT_EQ(Refused({"--config", conf}, &out), 2);
  EXPECT_NE(out.find(conf + ":2: --default-uid-buffers: Value 0 not in range"), std::string::npos)
      << out;
  conf = Write("exempt-uid = \"everyone\"\n");
  EXPECT_EQ(Refused({"--config", conf}, &out), 2);
  EXPECT_NE(out.find(conf + ":1: Could not convert: --exempt-uid = everyone"), std::string::npos)
      << out;
  // The value is checked by the same rule as on the command line.
  conf = Write("heap-limit = \"system\"\n");
  EXPECT_EQ(Refused({"--config", conf}, &out), 2);
  EXPECT_NE(out.find("--heap-limit system: expected NAME=SIZE"), std::string::npos) << out;
}

TEST_F(ConfigTest, AMissingFileNamedOnTheCommandLineIsAnError) {
  std::string out;
  EXPECT_EQ(Refused({"--config", dir_ + "/nothing.conf"}, &out), 2);
  EXPECT_NE(out.find("--config " + dir_ + "/nothing.conf: cannot be read"), std::string::npos)
      << out;
}

TEST_F(ConfigTest, UsageErrorsExitTwoAsTheToolsDo) {
  std::string out;
  EXPECT_EQ(Refused({"--bogus"}, &out), 2);
  EXPECT_NE(out.find("--bogus"), std::string::npos) << out;
  EXPECT_EQ(Refused({"--default-uid-buffers", "0"}, &out), 2);
  EXPECT_NE(out.find("--default-uid-buffers: Value 0 not in range"), std::string::npos) << out;
  EXPECT_EQ(Refused({"--help"}, &out), 0);
}

TEST_F(ConfigTest, TheShippedFileIsTheDefaults) {
  // Every setting in packaging/dmaheapd.conf is commented out: it reads as no setting at all.
  Daemon d({"--config", DMAHEAP_SHIPPED_CONFIG});
  ASSERT_TRUE(d.ready());
  EXPECT_EQ(d.Stat("limit heap system", "bytes"), -1);
  EXPECT_EQ(d.Stat("memory", "total_pages"), 1048576) << "the default board";
}

}  // namespace
}  // namespace dmaheap
