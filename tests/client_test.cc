// dmaheap::Client: which backend it picks, and the same answers from each.
#include "dmaheap/client.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <initializer_list>
#include <optional>
#include <string>
#include <vector>

#include "daemon_fixture.h"
#include "ipc/paths.h"
#include "test_util.h"

namespace dmaheap {
namespace {

using testing_util::Daemon;
using testing_util::ScopedEnv;

TEST(ClientTest, WithNothingRunningItBootsTheDefaultBoardInProcess) {
  ScopedEnv env({{"DMAHEAP_BACKEND", nullptr},
                 {"DMAHEAP_DIR", nullptr},
                 {"DMAHEAP_SYSTEM_DIR", "/tmp/dmaheap-no-system-daemon-here"},
                 {"DMAHEAP_KERNEL_HEAPS", "/nonexistent-sysfs"},
                 {"DMAHEAP_BOARD", nullptr}});
  auto client = Client::Open();
  ASSERT_TRUE(client.ok());
  EXPECT_EQ((*client)->backend(), Backend::kEmbedded);
  EXPECT_EQ((*client)->HeapNames(), (std::vector<std::string>{"default_cma_region", "linux,cma",
                                                              "system", "system-uncached"}));
  ASSERT_NE((*client)->embedded(), nullptr);
}

// Where a client looks (ipc/paths.h): $DMAHEAP_DIR alone when set, and a DMAHEAP_DIR no daemon
// serves is an error, not a fallback; else the user's own daemon, then the system's — so an
// unprivileged program reaches a system daemon. Run as an unprivileged uid, against two daemons.
TEST(ClientTest, ItLooksForTheUsersOwnDaemonThenTheSystems) {
  Daemon system_daemon, own_daemon;
  ASSERT_TRUE(system_daemon.ready() && own_daemon.ready());
  char tmpl[] = "/tmp/dh-xdg.XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string xdg = tmpl, own_dir = xdg + "/dma_heap";
  chmod(tmpl, 0755);
  ASSERT_EQ(symlink(own_daemon.dir().c_str(), own_dir.c_str()), 0);
  // In a child as the test uid: 0 when the client reached `want` and allocated there.
  auto reach = [&](const std::string& want, const char* dmaheap_dir) {
    testing_util::Child child([&] {
      if (!testing_util::DropPrivileges()) return 100;
      for (const char* v : {"DMAHEAP_DIR", "DMAHEAP_CONTROL", "DMAHEAP_DEVICES", "DMAHEAP_BACKEND"})
        unsetenv(v);
      if (dmaheap_dir != nullptr) setenv("DMAHEAP_DIR", dmaheap_dir, 1);
      setenv("XDG_RUNTIME_DIR", xdg.c_str(), 1);
      setenv("DMAHEAP_SYSTEM_DIR", system_daemon.dir().c_str(), 1);
      setenv("DMAHEAP_KERNEL_HEAPS", "/nonexistent-sysfs", 1);
      Result<std::string> found = FindDaemonDir();
      if (!found.ok()) return 3;
      if (*found != want) return 4;
      auto client = Client::Open();
      if (!client.ok() || (*client)->backend() != Backend::kDaemon) return 5;
      return (*client)->Allocate("system", 4096).ok() ? 0 : 6;
    });
    return child.Wait();
  };
  EXPECT_EQ(reach(own_dir, nullptr), 0) << "the user's own daemon first";
  EXPECT_EQ(own_daemon.Stat("heap system", "allocations"), 1);
  EXPECT_EQ(system_daemon.Stat("heap system", "allocations"), 0);
  ASSERT_EQ(unlink(own_dir.c_str()), 0);
  EXPECT_EQ(reach(system_daemon.dir(), nullptr), 0) << "then the system's";
  EXPECT_EQ(system_daemon.Stat("heap system", "allocations"), 1);
  EXPECT_EQ(reach(system_daemon.dir(), "/tmp/dmaheap-no-daemon-here"), 3)
      << "DMAHEAP_DIR is the only place when set";
  (void)!system(("rm -rf " + xdg).c_str());
}

TEST(ClientTest, ADmaheapDirNoDaemonServesIsAnError) {
  ScopedEnv env({{"DMAHEAP_BACKEND", nullptr},
                 {"DMAHEAP_DIR", "/tmp/dmaheap-no-daemon-here"},
                 {"DMAHEAP_KERNEL_HEAPS", "/nonexistent-sysfs"}});
  auto client = Client::Open();
  EXPECT_EQ(client.error(), ENOENT) << "no silent in-process fallback";
  ScopedEnv embedded({{"DMAHEAP_BACKEND", "embedded"}});
  auto forced = Client::Open();
  ASSERT_TRUE(forced.ok());
  EXPECT_EQ((*forced)->backend(), Backend::kEmbedded);
}

TEST(ClientTest, ARunningDaemonComesBeforeEmbedded) {
  Daemon d;
  ASSERT_TRUE(d.ready());
  const auto denv = d.Env();
  ScopedEnv env({{"DMAHEAP_BACKEND", nullptr},
                 {"DMAHEAP_DIR", denv.at("DMAHEAP_DIR").c_str()},
                 {"DMAHEAP_KERNEL_HEAPS", "/nonexistent-sysfs"}});
  auto client = Client::Open();
  ASSERT_TRUE(client.ok());
  EXPECT_EQ((*client)->backend(), Backend::kDaemon);
  EXPECT_EQ((*client)->embedded(), nullptr);
  auto fd = (*client)->Allocate("linux,cma", 1 << 20);
  ASSERT_TRUE(fd.ok());
  EXPECT_TRUE((*client)->SetName(fd->get(), "frame-0").ok());
  EXPECT_EQ((*client)->SetName(fd->get(), std::string(32, 'x')).error(), EINVAL);
  int status = -1;
  const std::string bufinfo = d.Control(Op::kBufInfo, &status);
  EXPECT_NE(bufinfo.find("linux,cma"), std::string::npos) << bufinfo;
  EXPECT_NE(bufinfo.find("frame-0"), std::string::npos) << bufinfo;
  // Allocation and name in one round trip.
  auto named = (*client)->AllocateNamed("system", 8192, "preview-3");
  ASSERT_TRUE(named.ok());
  EXPECT_NE(d.Control(Op::kBufInfo, &status).find("\tsystem\t"), std::string::npos);
  EXPECT_NE(d.Control(Op::kBufInfo, &status).find("preview-3"), std::string::npos);
  EXPECT_EQ((*client)->AllocateNamed("system", 8192, std::string(32, 'n')).error(), EINVAL);
  EXPECT_EQ((*client)->AllocateNamed("nosuch", 8192, "x").error(), ENOENT);
  EXPECT_EQ((*client)->Allocate("nosuch", 4096).error(), ENOENT);
  EXPECT_EQ((*client)->Allocate("../h.ctl", 4096).error(), ENOENT);
  EXPECT_EQ((*client)->Allocate("system", 0).error(), EINVAL);

  // The daemon restarts: the next allocation reconnects.
  d.Stop();
  ASSERT_TRUE(d.Start());
  EXPECT_TRUE((*client)->Allocate("system", 4096).ok());
}

TEST(ClientTest, KernelHeapsComeFirstAndNeedTheirDeviceNodes) {
  // This machine's kernel has no heaps; point the sysfs probe at a directory that exists.
  ScopedEnv env({{"DMAHEAP_BACKEND", nullptr}, {"DMAHEAP_KERNEL_HEAPS", "/tmp"}});
  EXPECT_EQ(Client::Open().error(), ENOENT) << "kernel heaps but no /dev/dma_heap";
}

TEST(ClientTest, ForcingABackend) {
  {
    ScopedEnv env({{"DMAHEAP_BACKEND", "bogus"}});
    testing::internal::CaptureStderr();
    EXPECT_EQ(Client::Open().error(), EINVAL);
    EXPECT_NE(testing::internal::GetCapturedStderr().find(
                  "DMAHEAP_BACKEND=bogus: expected kernel, daemon or embedded"),
              std::string::npos);
  }
  {
    ScopedEnv env({{"DMAHEAP_BACKEND", "daemon"}, {"DMAHEAP_DIR", "/tmp/dmaheap-no-daemon-here"}});
    EXPECT_EQ(Client::Open().error(), ENOENT);
    ClientOptions options;
    options.backend = Backend::kEmbedded;  // the option wins over the environment
    options.board = "db845c";
    auto client = Client::Open(options);
    ASSERT_TRUE(client.ok());
    EXPECT_EQ((*client)->HeapNames(), (std::vector<std::string>{"system", "system-uncached"}));
  }
  {
    ScopedEnv env({{"DMAHEAP_BACKEND", "embedded"}, {"DMAHEAP_BOARD", "carveout-demo"}});
    auto client = Client::Open();
    ASSERT_TRUE(client.ok());
    EXPECT_EQ((*client)->HeapNames().size(), 5u);
    auto fd = (*client)->Allocate("carveout@60000000", 4096);
    ASSERT_TRUE(fd.ok());
    EXPECT_TRUE((*client)->SetName(fd->get(), "named").ok());
    EXPECT_NE((*client)->embedded()->BufInfo().find("named"), std::string::npos);
    auto both = (*client)->AllocateNamed("system", 4096, "both-at-once");
    ASSERT_TRUE(both.ok());
    EXPECT_NE((*client)->embedded()->BufInfo().find("both-at-once"), std::string::npos);
  }
}

}  // namespace
}  // namespace dmaheap
