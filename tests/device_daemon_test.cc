// Importers through the daemon (multi-process): a process attaches a buffer another process
// allocated, through the device socket; SYNC from any holder then reaches the exporter, which
// syncs the mapped attachment; the importer's attachments die with it; constraint-based
// allocation and the device socket's refusals.
#include <dirent.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstring>
#include <string>

#include "daemon_fixture.h"
#include "dmaheap/client.h"
#include "dmaheap/uapi/linux/dma-buf.h"
#include "ipc/device_wire.h"
#include "ipc/transport.h"
#include "test_util.h"

namespace dmaheap {
namespace {

using testing_util::Child;
using testing_util::Daemon;
using testing_util::FdCount;
using testing_util::RunProgram;
using testing_util::ScopedEnv;

constexpr uint64_t kMiB = uint64_t{1} << 20;

std::unique_ptr<Client> DaemonClient(const Daemon& d) {
  ScopedEnv env({{"DMAHEAP_DIR", d.dir().c_str()},
                 {"DMAHEAP_CONTROL", d.control().c_str()},
                 {"DMAHEAP_DEVICES", nullptr},
                 {"DMAHEAP_BACKEND", "daemon"}});
  auto client = Client::Open();
  EXPECT_TRUE(client.ok()) << client.error();
  return client.ok() ? std::move(client).value() : nullptr;
}

DmaStatsInfo CodecStats(Client& client) {
  auto devices = client.Devices();
  EXPECT_TRUE(devices.ok());
  for (const DmaDeviceInfo& d : devices.ok() ? *devices : std::vector<DmaDeviceInfo>{}) {
    if (d.name == "codec@11000000") return d.stats;
  }
  ADD_FAILURE() << "no codec on the default board";
  return {};
}

bool Sticky(int fd) {
  struct stat st {};
  return fstat(fd, &st) == 0 && (st.st_mode & S_ISVTX) != 0;
}

TEST(DeviceDaemonTest, AnImportersAttachmentsServeSyncAndDieWithIt) {
  Daemon d;
  ASSERT_TRUE(d.ready());
  // This process is the daemon's client throughout (BufferIoctl finds the daemon by it).
  ScopedEnv env({{"DMAHEAP_DIR", d.dir().c_str()}, {"DMAHEAP_CONTROL", d.control().c_str()}});
  std::unique_ptr<Client> client = DaemonClient(d);
  ASSERT_NE(client, nullptr);
  Result<UniqueFd> fd = client->Allocate("system", kMiB);
  ASSERT_TRUE(fd.ok());
  dma_buf_sync sync{DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ};
  ASSERT_EQ(BufferIoctl(fd->get(), DMA_BUF_IOCTL_SYNC, &sync), 0);
  EXPECT_EQ(CodecStats(*client).syncs_for_cpu, 0u) << "nothing attached: SYNC stays local";

  int to_parent[2], to_child[2];
  ASSERT_EQ(pipe(to_parent), 0);
  ASSERT_EQ(pipe(to_child), 0);
  Child importer([&] {
    // A process of its own (the parent's client is not used after fork).
    std::unique_ptr<Client> own = DaemonClient(d);
    if (own == nullptr) return 1;
    Result<Attachment> a = own->Attach(fd->get(), "codec@11000000");
    uint64_t first[2] = {a.ok() ? a->segments().size() : 0,
                         a.ok() ? a->segments()[0].address : static_cast<uint64_t>(a.error())};
    if (write(to_parent[1], first, sizeof(first)) != sizeof(first)) return 2;
    char c;
    (void)!read(to_child[0], &c, 1);  // held until the parent kills it
    return 0;
  });
  uint64_t got[2] = {};
  ASSERT_EQ(read(to_parent[0], got, sizeof(got)), static_cast<ssize_t>(sizeof(got)));
  EXPECT_EQ(got[0], 1u) << "behind the SMMU: one IOVA range";
  EXPECT_EQ(got[1], 0xfff00000u);
  EXPECT_NE(d.Control(Op::kBufInfo).find("\tcodec@11000000\nTotal 1 devices attached"),
            std::string::npos)
      << d.Control(Op::kBufInfo);
  EXPECT_TRUE(Sticky(fd->get())) << "the daemon marks a mapped buffer";

  // The allocating process syncs; the importer's mapped attachment is synced by the exporter.
  const DmaStatsInfo before = CodecStats(*client);
  sync.flags = DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ;
  ASSERT_EQ(BufferIoctl(fd->get(), DMA_BUF_IOCTL_SYNC, &sync), 0);
  sync.flags = DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ;
  ASSERT_EQ(BufferIoctl(fd->get(), DMA_BUF_IOCTL_SYNC, &sync), 0);
  const DmaStatsInfo after = CodecStats(*client);
  EXPECT_EQ(after.syncs_for_cpu, before.syncs_for_cpu + 1);
  EXPECT_EQ(after.syncs_for_device, before.syncs_for_device + 1);
  EXPECT_EQ(after.bytes_synced, before.bytes_synced + 2 * kMiB);
  struct stat st {};
  ASSERT_EQ(fstat(fd->get(), &st), 0);
  const std::string stats = d.Control(Op::kStats);
  EXPECT_NE(stats.find("device codec@11000000 maps 1 "), std::string::npos) << stats;
  EXPECT_NE(stats.find("buffer " + std::to_string(st.st_ino) +
                       " maps 1 map_errors 0 unmaps 0 syncs_for_cpu 1 syncs_for_device 1 "
                       "bytes_synced 3145728 bounces 0 bytes_bounced 0\n"),
            std::string::npos)
      << "the buffer's own counters: cleaned at map, then the pair\n"
      << stats;

  // The importer dies: its connection closes and the daemon detaches what it left. The fds are
  // counted after a barrier on one kept control connection: a connection closed before it (each
  // d.Control makes one) has been reaped by the time its reply comes, and none is in flight.
  Result<UniqueFd> ctl = ConnectSocket(d.control());
  ASSERT_TRUE(ctl.ok());
  auto barrier = [&] { ASSERT_TRUE(Call(ctl->get(), Op::kBarrier, 0, nullptr, 0).ok()); };
  barrier();
  const size_t daemon_fds = FdCount(d.pid());
  kill(importer.pid(), SIGKILL);
  EXPECT_EQ(importer.Wait(), 128 + SIGKILL);
  d.Control(Op::kBarrier);
  EXPECT_NE(d.Control(Op::kBufInfo).find("Total 0 devices attached"), std::string::npos)
      << d.Control(Op::kBufInfo);
  EXPECT_FALSE(Sticky(fd->get())) << "unmarked once no device has it mapped";
  barrier();
  EXPECT_EQ(FdCount(d.pid()), daemon_fds - 2)
      << "the daemon let go of the importer's connection and of its hold on the buffer";
  EXPECT_EQ(CodecStats(*client).unmaps, 1u);
  const uint64_t synced = CodecStats(*client).bytes_synced;
  sync.flags = DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ;
  ASSERT_EQ(BufferIoctl(fd->get(), DMA_BUF_IOCTL_SYNC, &sync), 0);
  EXPECT_EQ(CodecStats(*client).bytes_synced, synced);
  for (int p : {to_parent[0], to_parent[1], to_child[0], to_child[1]}) close(p);
}

// A buffer a client held through the daemon's crash is re-adopted with its pages: a device
// attached after the restart gets the same DMA address as before it (a contiguous CMA buffer on
// the display, DMA address = physical), and one behind the SMMU gets a mapping of the whole
// buffer; the old daemon's attachments died with it.
TEST(DeviceDaemonTest, DevicesAttachToABufferReadoptedAfterACrash) {
  Daemon d;
  ASSERT_TRUE(d.ready());
  ScopedEnv env({{"DMAHEAP_DIR", d.dir().c_str()}, {"DMAHEAP_CONTROL", d.control().c_str()}});
  uint64_t before = 0;
  Result<UniqueFd> fd = Errno(EIO);
  {
    std::unique_ptr<Client> client = DaemonClient(d);
    ASSERT_NE(client, nullptr);
    fd = client->Allocate("linux,cma", 4 * kMiB);
    ASSERT_TRUE(fd.ok());
    Result<Attachment> a = client->Attach(fd->get(), "display@10000000");
    ASSERT_TRUE(a.ok()) << std::strerror(a.error());
    ASSERT_EQ(a->segments().size(), 1u);
    before = a->segments()[0].address;
    d.Kill();  // the attachment is still held: the crash takes it
  }
  ASSERT_TRUE(d.Start());
  EXPECT_NE(d.Control(Op::kBufInfo).find("Total 0 devices attached"), std::string::npos)
      << d.Control(Op::kBufInfo);
  std::unique_ptr<Client> client = DaemonClient(d);
  ASSERT_NE(client, nullptr);
  Result<Attachment> display = client->Attach(fd->get(), "display@10000000");
  ASSERT_TRUE(display.ok()) << std::strerror(display.error());
  ASSERT_EQ(display->segments().size(), 1u);
  EXPECT_EQ(display->segments()[0].address, before) << "the same physical pages";
  EXPECT_EQ(display->segments()[0].length, 4 * kMiB);
  Result<Attachment> codec = client->Attach(fd->get(), "codec@11000000");
  ASSERT_TRUE(codec.ok()) << std::strerror(codec.error());
  ASSERT_EQ(codec->segments().size(), 1u);
  EXPECT_EQ(codec->segments()[0].length, 4 * kMiB);
  EXPECT_NE(d.Control(Op::kBufInfo).find("Total 2 devices attached"), std::string::npos)
      << d.Control(Op::kBufInfo);
}

TEST(DeviceDaemonTest, AllocateForThroughTheDaemon) {
  Daemon d;
  ASSERT_TRUE(d.ready());
  std::unique_ptr<Client> client = DaemonClient(d);
  ASSERT_NE(client, nullptr);
  Result<HeapChoice> display = client->AllocateFor({"display@10000000"}, 4 * kMiB);
  ASSERT_TRUE(display.ok()) << display.error();
  EXPECT_EQ(display->heap, "default_cma_region");
  EXPECT_NE(display->why.find("display@10000000: no IOMMU"), std::string::npos) << display->why;
  EXPECT_TRUE(display->fd.valid());
  Result<HeapChoice> shared = client->AllocateFor({"codec@11000000", "vgem"}, kMiB);
  ASSERT_TRUE(shared.ok());
  EXPECT_EQ(shared->heap, "system");
  std::string refusal;
  EXPECT_EQ(client->AllocateFor({"gpu"}, kMiB, true, &refusal).error(), ENODEV);
  EXPECT_EQ(refusal, "no device 'gpu' (devices: display@10000000 codec@11000000 vgem)");
}

// The device socket refuses what it cannot trust and keeps serving.
TEST(DeviceDaemonTest, BadRequestsAreRefusedAndTheConnectionStays) {
  Daemon d;
  ASSERT_TRUE(d.ready());
  auto sock = ConnectSocket(d.dir() + ".dev");
  ASSERT_TRUE(sock.ok());
  auto status = [&](Op op, uint64_t cmd, const std::string& payload, int fd = -1) {
    auto reply = Call(sock->get(), op, cmd, payload.data(), payload.size(), fd);
    return reply.ok() ? reply->status : -reply.error();
  };
  EXPECT_EQ(status(Op::kAttach, 0, "codec@11000000"), EBADF) << "no buffer fd";
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  EXPECT_EQ(status(Op::kAttach, 0, "codec@11000000", p[0]), EINVAL) << "not a dma-buf";
  EXPECT_EQ(status(Op::kAttach, 3, "codec@11000000", p[0]), EINVAL) << "no such direction";
  EXPECT_EQ(status(Op::kAttach, 0, "a/b", p[0]), EINVAL);
  EXPECT_EQ(status(Op::kDevices, 0, "", p[0]), EINVAL) << "a stray fd";
  close(p[0]);
  close(p[1]);
  EXPECT_EQ(status(Op::kDetach, 42, ""), ENOENT);
  EXPECT_EQ(status(Op::kAllocFor, 0, "short"), EINVAL);
  EXPECT_EQ(status(Op::kHeapIoctl, 0, ""), EOPNOTSUPP);
  auto reply = Call(sock->get(), Op::kDevices, 0, nullptr, 0);
  ASSERT_TRUE(reply.ok());
  EXPECT_EQ(reply->status, 0);
  auto devices = DecodeDevices(std::string(reply->data.begin(), reply->data.end()));
  ASSERT_TRUE(devices.ok());
  EXPECT_EQ(devices->size(), 3u);
}

TEST(DeviceDaemonTest, ToolAttachAndDevicesThroughTheDaemon) {
  Daemon d;
  ASSERT_TRUE(d.ready());
  std::string out;
  ASSERT_EQ(RunProgram({DMAHEAP_TOOL_PATH, "attach", "--heap", "system", "--device",
                        "codec@11000000", "2M"},
                       d.Env(), &out),
            0)
      << out;
  EXPECT_EQ(out, "0xffe00000 2097152\n");
  // The default board's display is 32-bit without an IOMMU; system-heap pages above 4 GiB come
  // in 1 MiB blocks, more than one swiotlb bounce holds: the map itself fails.
  EXPECT_EQ(RunProgram({DMAHEAP_TOOL_PATH, "attach", "--heap", "system", "--device",
                        "display@10000000", "2M"},
                       d.Env(), &out),
            1);
  EXPECT_EQ(out.rfind("EIO: display@10000000 reaches only up to 0xffffffff", 0), 0u) << out;
  // A CMA buffer (below 4 GiB on this board) is one contiguous range, reached directly.
  ASSERT_EQ(RunProgram({DMAHEAP_TOOL_PATH, "attach", "--heap", "default_cma_region", "--device",
                        "display@10000000", "2M"},
                       d.Env(), &out),
            0)
      << out;
  EXPECT_EQ(out.find('\n'), out.size() - 1) << "one segment: " << out;
  ASSERT_EQ(RunProgram({DMAHEAP_TOOL_PATH, "devices"}, d.Env(), &out), 0) << out;
  EXPECT_NE(out.find("codec@11000000\n  iommu:        iommu@12000000, 32-bit IOVA space"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("display@10000000\n  iommu:        none"), std::string::npos) << out;
  EXPECT_NE(out.find("  dma:          1 maps, 1 errors"), std::string::npos)
      << "the daemon's counters: the display's refused and accepted maps\n"
      << out;
}

}  // namespace
}  // namespace dmaheap
