// The device socket's wire rules (device_wire.h): every refusal, and the encodings round-trip.
#include "ipc/device_wire.h"

#include <gtest/gtest.h>
#include <sys/mman.h>

#include <cstring>
#include <string>

namespace dmaheap {
namespace {

std::vector<UniqueFd> Fds(size_t n) {
  std::vector<UniqueFd> fds;
  for (size_t i = 0; i < n; ++i) fds.emplace_back(memfd_create("t", MFD_CLOEXEC));
  return fds;
}

Request Req(Op op, uint64_t cmd, const std::string& payload, size_t fds) {
  static std::string keep;  // the payload span points into it for the request's life
  keep = payload;
  Request r;
  r.op = op;
  r.cmd = cmd;
  r.payload = {reinterpret_cast<const uint8_t*>(keep.data()), keep.size()};
  r.fds = Fds(fds);
  return r;
}

int Errno(Op op, uint64_t cmd, const std::string& payload, size_t fds) {
  return DecodeDeviceRequest(Req(op, cmd, payload, fds)).error();
}

std::string AllocFor(uint64_t len, uint32_t flags, const std::string& names) {
  std::vector<uint8_t> p = EncodeAllocFor(len, false, 2, {});
  std::memcpy(p.data() + 8, &flags, 4);
  std::string s(p.begin(), p.end());
  return s + names;
}

TEST(DeviceWireTest, AttachNeedsOneBufferADirectionAndADeviceName) {
  Request ok = Req(Op::kAttach, 2 | kAttachOnce, "codec@11000000", 1);
  Result<DeviceRequest> r = DecodeDeviceRequest(ok);
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->kind, DeviceRequest::Kind::kAttach);
  EXPECT_EQ(r->device, "codec@11000000");
  EXPECT_EQ(r->dir, DmaDirection::kFromDevice);
  EXPECT_TRUE(r->once);
  EXPECT_EQ(r->buffer_fd, ok.fds[0].get());
  EXPECT_EQ(Errno(Op::kAttach, 0, "codec", 0), EBADF);
  EXPECT_EQ(Errno(Op::kAttach, 0, "codec", 2), EBADF);
  EXPECT_EQ(Errno(Op::kAttach, 3, "codec", 1), EINVAL) << "no such direction";
  EXPECT_EQ(Errno(Op::kAttach, 0x200, "codec", 1), EINVAL) << "an unknown bit";
  for (const std::string& bad : {std::string(), std::string(64, 'd'), std::string("a\0b", 3),
                                std::string("a,b"), std::string("../x"), std::string("a b")}) {
    EXPECT_EQ(Errno(Op::kAttach, 0, bad, 1), EINVAL) << bad;
  }
  EXPECT_TRUE(DecodeDeviceRequest(Req(Op::kAttach, 0, std::string(63, 'd'), 1)).ok());
}

TEST(DeviceWireTest, OtherOpsTakeNoFdAndUnknownOnesAreEopnotsupp) {
  EXPECT_EQ(DecodeDeviceRequest(Req(Op::kDevices, 0, "", 0))->kind, DeviceRequest::Kind::kDevices);
  EXPECT_EQ(Errno(Op::kDevices, 0, "", 1), EINVAL);
  Result<DeviceRequest> detach = DecodeDeviceRequest(Req(Op::kDetach, 7, "", 0));
  ASSERT_TRUE(detach.ok());
  EXPECT_EQ(detach->id, 7u);
  EXPECT_EQ(Errno(Op::kDetach, 7, "", 1), EINVAL);
  for (Op op : {Op::kHeapIoctl, Op::kSetName, Op::kStats, static_cast<Op>(36)})
    EXPECT_EQ(Errno(op, 0, "", 0), EOPNOTSUPP);
}

TEST(DeviceWireTest, AllocForNamesOneToSixteenDevices) {
  Result<DeviceRequest> r =
      DecodeDeviceRequest(Req(Op::kAllocFor, 0, AllocFor(4096, kAllocForCpuAccess, "a,b"), 0));
  ASSERT_TRUE(r.ok()) << r.error();
  EXPECT_EQ(r->len, 4096u);
  EXPECT_TRUE(r->cpu_access);
  EXPECT_EQ(r->fd_flags, 2u);
  EXPECT_EQ(r->devices, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(Errno(Op::kAllocFor, 0, "short", 0), EINVAL);
  EXPECT_EQ(Errno(Op::kAllocFor, 0, AllocFor(4096, 0, ""), 0), EINVAL) << "no device";
  EXPECT_EQ(Errno(Op::kAllocFor, 0, AllocFor(4096, 0, "a,"), 0), EINVAL) << "a trailing comma";
  EXPECT_EQ(Errno(Op::kAllocFor, 0, AllocFor(4096, 0, "a,,b"), 0), EINVAL);
  EXPECT_EQ(Errno(Op::kAllocFor, 0, AllocFor(4096, 2, "a"), 0), EINVAL) << "an unknown flag";
  std::string seventeen = "d";
  for (int i = 0; i < 16; ++i) seventeen += ",d";
  EXPECT_EQ(Errno(Op::kAllocFor, 0, AllocFor(4096, 0, seventeen), 0), EINVAL);
  EXPECT_EQ(Errno(Op::kAllocFor, 0, AllocFor(4096, 0, "a"), 1), EINVAL) << "a stray fd";
}

TEST(DeviceWireTest, RepliesRoundTrip) {
  const std::vector<ScatterEntry> segments = {{0xdf800000, 8 << 20}, {0x1000, 4096}};
  const std::vector<uint8_t> bytes = EncodeAttachReply(9, segments);
  auto decoded = DecodeAttachReply(bytes);
  ASSERT_TRUE(decoded.ok());
  EXPECT_EQ(decoded->first, 9u);
  EXPECT_EQ(decoded->second,
            (std::vector<DmaSegment>{{0xdf800000, 8 << 20}, {0x1000, 4096}}));
  EXPECT_EQ(DecodeAttachReply(std::span<const uint8_t>(bytes.data(), 12)).error(), EBADMSG);
  EXPECT_EQ(DecodeAttachReply({}).error(), EBADMSG);

  DmaDeviceInfo d;
  d.name = "video-codec@aa00000";
  d.iommu = true;
  d.iommu_name = "iommu@15000000";
  d.iova_bits = 32;
  d.dma_limit = 0xdfffffff;
  d.max_segment_size = 0xffffffff;
  d.stats.maps = 3;
  d.stats.bytes_synced = 1 << 20;
  DmaDeviceInfo plain;
  plain.name = "vgem";
  plain.vgem = true;
  plain.dma_limit = ~uint64_t{0};
  auto devices = DecodeDevices(EncodeDevices({d, plain}));
  ASSERT_TRUE(devices.ok());
  ASSERT_EQ(devices->size(), 2u);
  EXPECT_EQ((*devices)[0].iommu_name, "iommu@15000000");
  EXPECT_EQ((*devices)[0].dma_limit, 0xdfffffffu);
  EXPECT_EQ((*devices)[0].stats.maps, 3u);
  EXPECT_EQ((*devices)[0].stats.bytes_synced, 1u << 20);
  EXPECT_TRUE((*devices)[1].vgem);
  EXPECT_TRUE((*devices)[1].iommu_name.empty());
  EXPECT_EQ(DecodeDevices("vgem 0 - 0\n").error(), EBADMSG) << "a short line";
}

}  // namespace
}  // namespace dmaheap
