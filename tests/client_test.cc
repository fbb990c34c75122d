// dmaheap::Client: which backend it picks, and the same answers from each.
#include <gtest/gtest.h>

#include <initializer_list>
#include <optional>
#include <string>
#include <vector>

#include "daemon_fixture.h"
#include "dmaheap/client.h"
#include "test_util.h"

namespace dmaheap {
namespace {

using testing_util::Daemon;
using testing_util::ScopedEnv;

TEST(ClientTest, WithNothingRunningItBootsTheDefaultBoardInProcess) {
  ScopedEnv env({{"DMAHEAP_BACKEND", nullptr},
                 {"DMAHEAP_DIR", "/tmp/dmaheap-no-daemon-here"},
                 {"DMAHEAP_KERNEL_HEAPS", "/nonexistent-sysfs"},
                 {"DMAHEAP_BOARD", nullptr}});
  auto client = Client::Open();
  ASSERT_TRUE(client.ok());
  EXPECT_EQ((*client)->backend(), Backend::kEmbedded);
  EXPECT_EQ((*client)->HeapNames(),
            (std::vector<std::string>{"default_cma_region", "linux,cma", "system",
                                      "system-uncached"}));
  ASSERT_NE((*client)->embedded(), nullptr);
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
