// Devices of booted boards (embedded System): what an importer gets when it attaches and maps a
// buffer — the DMA addresses dma-direct and iommu-dma give, the GEM DMA helpers' contiguity
// check, swiotlb bounces and their limits, what DMA_BUF_IOCTL_SYNC syncs — and which heap
// AllocateFor picks. Expected values are worked out from the kernel's code paths (see
// src/dma/dma_device.h) and the boards' placements.
#include <sys/ioctl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "board_util.h"
#include "test_util.h"
#include "dmaheap/dmaheap.h"
#include "dmaheap/uapi/linux/dma-buf.h"

namespace dmaheap {
namespace {

using testing_util::BoardDir;
using testing_util::BoardDts;
using testing_util::BootBoard;
using testing_util::ReservedMemoryNode;

constexpr uint64_t kMiB = uint64_t{1} << 20;

UniqueFd Alloc(System& sys, const char* heap, uint64_t len) {
  Result<UniqueFd> fd = sys.Allocate(heap, len);
  EXPECT_TRUE(fd.ok()) << heap << ": " << fd.error();
  return fd.ok() ? std::move(fd).value() : UniqueFd();
}

DmaDeviceInfo Device(System& sys, const std::string& name) {
  for (const DmaDeviceInfo& d : sys.Devices()) {
    if (d.name == name) return d;
  }
  ADD_FAILURE() << "no device " << name;
  return {};
}

// The first physical address of a buffer.
uint64_t Phys(System& sys, const UniqueFd& fd) {
  auto sg = sys.SgTable(fd.get());
  EXPECT_TRUE(sg.ok() && !sg->empty());
  return sg.ok() && !sg->empty() ? (*sg)[0].first : 0;
}

int Sync(int fd, uint64_t flags) {
  dma_buf_sync sync{flags};
  return BufferIoctl(fd, DMA_BUF_IOCTL_SYNC, &sync);
}

TEST(DevicesTest, ShippedBoardsDeclareTheirImporters) {
  auto hikey = BootBoard("hikey960");
  ASSERT_NE(hikey, nullptr);
  const DmaDeviceInfo dpe = Device(*hikey, "dpe@e8600000");
  EXPECT_FALSE(dpe.iommu);
  EXPECT_EQ(dpe.dma_limit, 0xffffffffu);
  EXPECT_TRUE(dpe.needs_contiguous);
  EXPECT_FALSE(dpe.coherent);

  auto db = BootBoard("db845c");
  ASSERT_NE(db, nullptr);
  const DmaDeviceInfo venus = Device(*db, "video-codec@aa00000");
  EXPECT_TRUE(venus.iommu);
  EXPECT_EQ(venus.iommu_name, "iommu@15000000");
  EXPECT_EQ(venus.dma_limit, 0xdfffffffu) << "venus's mask";
  EXPECT_EQ(Device(*db, "display-subsystem@ae00000").max_segment_size, 0xffffffffu);

  auto def = BootBoard("default");
  ASSERT_NE(def, nullptr);
  std::vector<std::string> names;
  for (const DmaDeviceInfo& d : def->Devices()) names.push_back(d.name);
  EXPECT_EQ(names, (std::vector<std::string>{"display@10000000", "codec@11000000", "vgem"}));
  EXPECT_TRUE(Device(*def, "vgem").vgem);
  EXPECT_EQ(Device(*def, "vgem").dma_limit, ~uint64_t{0});
  // RAM reaches past 4 GiB: arm64 sets up the default 64 MiB swiotlb.
  EXPECT_EQ(def->Stats().swiotlb_slots, 32768u);
  EXPECT_EQ(hikey->Stats().swiotlb_slots, 0u) << "all of hikey960's RAM is below 4 GiB";
}

// The showcase: HiKey's display has no IOMMU and imports through the GEM DMA helpers.
TEST(DevicesTest, HikeyDisplayRefusesScatteredBuffersAndTakesCmaOnes) {
  auto sys = BootBoard("hikey960");
  ASSERT_NE(sys, nullptr);
  UniqueFd scattered = Alloc(*sys, "system", 8 * kMiB);
  EXPECT_EQ(sys->Attach(scattered.get(), "dpe@e8600000").error(), EINVAL);
  EXPECT_EQ(sys->BufInfo().find("dpe@e8600000"), std::string::npos) << "nothing left attached";

  UniqueFd cma = Alloc(*sys, "default_cma_region", 8 * kMiB);
  Result<Attachment> a = sys->Attach(cma.get(), "dpe@e8600000");
  ASSERT_TRUE(a.ok()) << a.error();
  auto sg = sys->SgTable(cma.get());
  ASSERT_TRUE(sg.ok());
  ASSERT_EQ(a->segments().size(), 1u);
  EXPECT_EQ(a->segments()[0], (DmaSegment{(*sg)[0].first, 8 * kMiB}))
      << "dma-direct without dma-ranges: the DMA address is the physical one";
  EXPECT_NE(sys->BufInfo().find("\tAttached Devices:\n\tdpe@e8600000\nTotal 1 devices attached"),
            std::string::npos)
      << sys->BufInfo();
  a->reset();
  EXPECT_NE(sys->BufInfo().find("Total 0 devices attached"), std::string::npos);
}

TEST(DevicesTest, Db845cMapsASystemBufferAsOneIovaRange) {
  auto sys = BootBoard("db845c");
  ASSERT_NE(sys, nullptr);
  UniqueFd fd = Alloc(*sys, "system", 8 * kMiB);
  ASSERT_GT(sys->SgTable(fd.get())->size(), 1u) << "scattered in physical memory";
  Result<Attachment> codec = sys->Attach(fd.get(), "video-codec@aa00000");
  ASSERT_TRUE(codec.ok()) << codec.error();
  // 2048 pages, 2048-page aligned, top-down below venus's mask 0xdfffffff.
  EXPECT_EQ(codec->segments(), (std::vector<DmaSegment>{{0xdf800000, 8 * kMiB}}));
  Result<Attachment> display = sys->Attach(fd.get(), "display-subsystem@ae00000");
  ASSERT_TRUE(display.ok());
  EXPECT_EQ(display->segments(), (std::vector<DmaSegment>{{0xff800000, 8 * kMiB}}))
      << "each device has its own IOVA space";
  // A second buffer takes the next range down.
  UniqueFd fd2 = Alloc(*sys, "system", 4 * kMiB);
  EXPECT_EQ(sys->Attach(fd2.get(), "video-codec@aa00000")->segments()[0].address, 0xdf400000u);
}

TEST(DevicesTest, ImportErrorsAreTheKernels) {
  auto sys = BootBoard("db845c");
  ASSERT_NE(sys, nullptr);
  UniqueFd fd = Alloc(*sys, "system", 4096);
  EXPECT_EQ(sys->Attach(fd.get(), "nosuch").error(), ENODEV);
  EXPECT_EQ(sys->Attach(-1, "video-codec@aa00000").error(), EBADF);
  EXPECT_EQ(sys->Attach(1000, "video-codec@aa00000").error(), EBADF);
  int p[2];
  ASSERT_EQ(pipe(p), 0);
  EXPECT_EQ(sys->Attach(p[0], "video-codec@aa00000").error(), EINVAL) << "not a dma-buf";
  close(p[0]);
  close(p[1]);
  auto other = BootBoard("db845c");
  UniqueFd foreign = Alloc(*other, "system", 4096);
  EXPECT_EQ(sys->Attach(foreign.get(), "video-codec@aa00000").error(), EINVAL)
      << "a buffer of another System";
}

// The 5.11 rule: begin/end CPU access sync the mapped attachments of non-coherent devices, in
// the ioctl's direction (arm64: invalidate for the CPU unless TO_DEVICE, clean for the device).
TEST(DevicesTest, SyncSyncsExactlyTheMappedAttachments) {
  auto sys = BootBoard("db845c");
  ASSERT_NE(sys, nullptr);
  UniqueFd fd = Alloc(*sys, "system", 2 * kMiB);
  ASSERT_EQ(Sync(fd.get(), DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW), 0);
  ASSERT_EQ(Sync(fd.get(), DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW), 0);
  EXPECT_EQ(Device(*sys, "video-codec@aa00000").stats.syncs_for_cpu, 0u) << "nothing attached";

  Result<Attachment> a = sys->Attach(fd.get(), "video-codec@aa00000");
  ASSERT_TRUE(a.ok());
  DmaStatsInfo s = Device(*sys, "video-codec@aa00000").stats;
  EXPECT_EQ(s.maps, 1u);
  EXPECT_EQ(s.bytes_synced, 2 * kMiB) << "cleaned for the device at map time";
  ASSERT_EQ(Sync(fd.get(), DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ), 0);
  ASSERT_EQ(Sync(fd.get(), DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ), 0);
  ASSERT_EQ(Sync(fd.get(), DMA_BUF_SYNC_START | DMA_BUF_SYNC_WRITE), 0);  // arm64: nothing
  ASSERT_EQ(Sync(fd.get(), DMA_BUF_SYNC_END | DMA_BUF_SYNC_WRITE), 0);
  s = Device(*sys, "video-codec@aa00000").stats;
  EXPECT_EQ(s.syncs_for_cpu, 1u);
  EXPECT_EQ(s.syncs_for_device, 2u);
  // Cleaned at map, invalidated at START READ, cleaned at each END: 4 × 2 MiB.
  EXPECT_EQ(s.bytes_synced, 4 * 2 * kMiB);
  EXPECT_EQ(s.unmaps, 0u);
  Result<DmaStatsInfo> per_buffer = sys->BufferDmaStats(fd.get());
  ASSERT_TRUE(per_buffer.ok());
  EXPECT_EQ(per_buffer->syncs_for_cpu, 1u);
  EXPECT_EQ(per_buffer->syncs_for_device, 2u);
  EXPECT_EQ(per_buffer->bytes_synced, 4 * 2 * kMiB);
  UniqueFd other = Alloc(*sys, "system", 4096);
  EXPECT_EQ(sys->BufferDmaStats(other.get())->bytes_synced, 0u) << "per buffer";

  a->reset();  // unmapped (invalidated for the CPU: bidirectional) and detached
  const uint64_t after_unmap = Device(*sys, "video-codec@aa00000").stats.bytes_synced;
  EXPECT_EQ(after_unmap, 5 * 2 * kMiB);
  EXPECT_EQ(Device(*sys, "video-codec@aa00000").stats.unmaps, 1u);
  ASSERT_EQ(Sync(fd.get(), DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ), 0);
  EXPECT_EQ(Device(*sys, "video-codec@aa00000").stats.bytes_synced, after_unmap)
      << "a detached device is not synced";
}

TEST(DevicesTest, CoherentDevicesAndTheUncachedHeapNeedNoCacheMaintenance) {
  BoardDir dir;
  const std::string dtb = dir.Write(
      "coherent",
      BoardDts("soc { #address-cells = <2>; #size-cells = <2>; ranges;\n"
               "  gpu@1000 { reg = <0x0 0x1000 0x0 0x1000>; dma-coherent; dmaheap,dma-bits = <40>; };\n"
               "  isp@2000 { reg = <0x0 0x2000 0x0 0x1000>; dmaheap,dma-bits = <40>; };\n};"),
      "system_heap\n");
  ASSERT_NE(dtb, "");
  auto sys = BootBoard(dtb);
  ASSERT_NE(sys, nullptr);
  UniqueFd fd = Alloc(*sys, "system", kMiB);
  Result<Attachment> gpu = sys->Attach(fd.get(), "gpu@1000");
  ASSERT_TRUE(gpu.ok());
  ASSERT_EQ(Sync(fd.get(), DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW), 0);
  ASSERT_EQ(Sync(fd.get(), DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW), 0);
  DmaStatsInfo s = Device(*sys, "gpu@1000").stats;
  EXPECT_EQ(s.maps, 1u);
  EXPECT_EQ(s.bytes_synced, 0u);
  EXPECT_EQ(s.syncs_for_cpu + s.syncs_for_device, 0u);

  // system-uncached: maps with DMA_ATTR_SKIP_CPU_SYNC, and begin/end do nothing.
  UniqueFd wc = Alloc(*sys, "system-uncached", kMiB);
  Result<Attachment> isp = sys->Attach(wc.get(), "isp@2000");
  ASSERT_TRUE(isp.ok());
  ASSERT_EQ(Sync(wc.get(), DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW), 0);
  ASSERT_EQ(Sync(wc.get(), DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW), 0);
  s = Device(*sys, "isp@2000").stats;
  EXPECT_EQ(s.maps, 1u);
  EXPECT_EQ(s.bytes_synced, 0u);
  EXPECT_EQ(s.syncs_for_cpu + s.syncs_for_device, 0u);
  bool uncached_seen = false;
  for (const HeapStats& h : sys->Stats().heaps) {
    if (h.name == "system-uncached") uncached_seen = !h.cached;
  }
  EXPECT_TRUE(uncached_seen);
}

// A 32-bit device without an IOMMU and a CMA area above 4 GiB: dma-direct bounces through the
// swiotlb (one bounce is at most 256 KiB), and without a pool the map fails with EIO.
std::string HighCmaBoard(const std::string& bootargs) {
  return BoardDts("chosen { bootargs = \"" + bootargs + "\"; };\n" +
                      ReservedMemoryNode("high { compatible = \"shared-dma-pool\"; reusable; "
                                         "size = <0x0 0x400000>; alloc-ranges = <0x1 0x0 0x0 "
                                         "0x40000000>; dmaheap,heap; };") +
                      "soc { #address-cells = <2>; #size-cells = <2>; ranges;\n"
                      "  dsp@3000 { reg = <0x0 0x3000 0x0 0x1000>; dmaheap,dma-bits = <32>; };\n};",
                  "0x0 0x80000000 0x1 0x0");
}

TEST(DevicesTest, UnreachableBuffersBounceThroughTheSwiotlbOrFail) {
  BoardDir dir;
  const std::string dtb = dir.Write("high", HighCmaBoard("console=ttyAMA0"), "cma_heap\n");
  ASSERT_NE(dtb, "");
  auto sys = BootBoard(dtb);
  ASSERT_NE(sys, nullptr);
  ASSERT_GT(sys->Stats().swiotlb_slots, 0u);
  UniqueFd small = Alloc(*sys, "high", 64 * 1024);
  ASSERT_GE(Phys(*sys, small), uint64_t{1} << 32);
  Result<Attachment> a = sys->Attach(small.get(), "dsp@3000");
  ASSERT_TRUE(a.ok()) << a.error();
  ASSERT_EQ(a->segments().size(), 1u);
  EXPECT_LT(a->segments()[0].address + 64 * 1024, uint64_t{1} << 32) << "the bounce slot";
  DmaStatsInfo s = Device(*sys, "dsp@3000").stats;
  EXPECT_EQ(s.bounces, 1u);
  EXPECT_EQ(s.bytes_bounced, 64 * 1024u);
  EXPECT_EQ(sys->Stats().swiotlb_used, 32u);
  a->reset();
  EXPECT_EQ(sys->Stats().swiotlb_used, 0u) << "no bounce slot leaks";

  UniqueFd big = Alloc(*sys, "high", kMiB);
  testing::internal::CaptureStderr();
  EXPECT_EQ(sys->Attach(big.get(), "dsp@3000").error(), EIO);
  EXPECT_NE(testing::internal::GetCapturedStderr().find("swiotlb buffer is full (sz: 1048576 bytes)"),
            std::string::npos);

  const std::string none = dir.Write("nopool", HighCmaBoard("swiotlb=noforce"), "cma_heap\n");
  auto bare = BootBoard(none);
  ASSERT_NE(bare, nullptr);
  EXPECT_EQ(bare->Stats().swiotlb_slots, 0u);
  UniqueFd high = Alloc(*bare, "high", 64 * 1024);
  testing::internal::CaptureStderr();
  EXPECT_EQ(bare->Attach(high.get(), "dsp@3000").error(), EIO);
  EXPECT_NE(testing::internal::GetCapturedStderr().find("overflow (mask ffffffff, bus limit 0)."),
            std::string::npos);
}

TEST(DevicesTest, DmaRangesOffsetTheBusAddress) {
  BoardDir dir;
  const std::string dtb = dir.Write(
      "ranges",
      BoardDts(ReservedMemoryNode("pool { compatible = \"shared-dma-pool\"; reusable; "
                                  "size = <0x0 0x400000>; dmaheap,heap; };") +
               "soc { #address-cells = <2>; #size-cells = <2>; ranges;\n"
               "  dma-ranges = <0x0 0x0 0x0 0x40000000 0x0 0x40000000>;\n"
               "  vpu@4000 { reg = <0x0 0x4000 0x0 0x1000>; dmaheap,dma-contiguous; };\n};"),
      "cma_heap\n");
  ASSERT_NE(dtb, "");
  auto sys = BootBoard(dtb);
  ASSERT_NE(sys, nullptr);
  const DmaDeviceInfo vpu = Device(*sys, "vpu@4000");
  EXPECT_EQ(vpu.dma_offset, 0x40000000u);
  EXPECT_EQ(vpu.dma_limit, 0x3fffffffu) << "the range end clamps the default mask";
  UniqueFd fd = Alloc(*sys, "pool", kMiB);
  const uint64_t phys = Phys(*sys, fd);
  Result<Attachment> a = sys->Attach(fd.get(), "vpu@4000");
  ASSERT_TRUE(a.ok()) << a.error();
  EXPECT_EQ(a->segments(), (std::vector<DmaSegment>{{phys - 0x40000000, kMiB}}));
}

TEST(DevicesTest, IovaExhaustionIsEnomem) {
  BoardDir dir;
  const std::string dtb = dir.Write(
      "small-iommu",
      BoardDts("soc { #address-cells = <2>; #size-cells = <2>; ranges;\n"
               "  mmu: iommu@5000 { reg = <0x0 0x5000 0x0 0x1000>; #iommu-cells = <1>; "
               "dmaheap,iova-bits = <24>; };\n"
               "  npu@6000 { reg = <0x0 0x6000 0x0 0x1000>; iommus = <&mmu 1>; };\n};"),
      "system_heap\n");
  ASSERT_NE(dtb, "");
  auto sys = BootBoard(dtb);
  ASSERT_NE(sys, nullptr);
  UniqueFd a = Alloc(*sys, "system", 8 * kMiB);
  UniqueFd b = Alloc(*sys, "system", 8 * kMiB);
  Result<Attachment> first = sys->Attach(a.get(), "npu@6000");
  ASSERT_TRUE(first.ok());
  EXPECT_EQ(first->segments()[0].address, 0x800000u);
  EXPECT_EQ(sys->Attach(b.get(), "npu@6000").error(), ENOMEM) << "16 MiB space, pfn 0 unused";
  first->reset();
  EXPECT_TRUE(sys->Attach(b.get(), "npu@6000").ok()) << "the range was given back";
}

// An import holds the buffer's file, as dma_buf_get does: closing every user fd does not
// release a buffer a device still has.
TEST(DevicesTest, AnAttachedBufferOutlivesItsUsersFds) {
  auto sys = BootBoard("db845c");
  ASSERT_NE(sys, nullptr);
  UniqueFd fd = Alloc(*sys, "system", kMiB);
  Result<Attachment> a = sys->Attach(fd.get(), "video-codec@aa00000");
  ASSERT_TRUE(a.ok());
  fd.reset();
  sys->Drain();
  EXPECT_EQ(sys->Stats().heaps[0].live_buffers, 1u);
  a->reset();
  sys->Drain();
  EXPECT_EQ(sys->Stats().heaps[0].live_buffers, 0u);
}

TEST(DevicesTest, AllocateForPicksTheHeapEveryDeviceCanMap) {
  auto hikey = BootBoard("hikey960");
  ASSERT_NE(hikey, nullptr);
  Result<HeapChoice> dpe = hikey->AllocateFor({"dpe@e8600000"}, 8 * kMiB);
  ASSERT_TRUE(dpe.ok()) << dpe.error();
  EXPECT_EQ(dpe->heap, "default_cma_region");
  EXPECT_NE(dpe->why.find("dpe@e8600000: no IOMMU: reaches it directly"), std::string::npos)
      << dpe->why;
  EXPECT_NE(dpe->why.find("system buffers are scattered pages"), std::string::npos) << dpe->why;
  EXPECT_TRUE(hikey->Attach(dpe->fd.get(), "dpe@e8600000").ok());

  auto db = BootBoard("db845c");
  ASSERT_NE(db, nullptr);
  Result<HeapChoice> both =
      db->AllocateFor({"display-subsystem@ae00000", "video-codec@aa00000"}, 8 * kMiB);
  ASSERT_TRUE(both.ok()) << both.error();
  EXPECT_EQ(both->heap, "system");
  EXPECT_NE(both->why.find("video-codec@aa00000: behind iommu@15000000"), std::string::npos);
  const DmaStatsInfo trial = Device(*db, "video-codec@aa00000").stats;
  EXPECT_EQ(trial.maps, 1u);
  EXPECT_EQ(trial.unmaps, 1u) << "the trial import was let go";

  std::string refusal;
  EXPECT_EQ(db->AllocateFor({"nosuch"}, 4096, true, &refusal).error(), ENODEV);
  EXPECT_NE(refusal.find("no device 'nosuch'"), std::string::npos) << refusal;
  EXPECT_EQ(db->AllocateFor({}, 4096, true, &refusal).error(), EINVAL);

  // No heap fits: a contiguous-only device on a board without CMA.
  BoardDir dir;
  const std::string dtb = dir.Write(
      "nocma",
      BoardDts("soc { #address-cells = <2>; #size-cells = <2>; ranges;\n"
               "  lcd@7000 { reg = <0x0 0x7000 0x0 0x1000>; dmaheap,dma-contiguous; };\n};"),
      "system_heap\n");
  auto nocma = BootBoard(dtb);
  ASSERT_NE(nocma, nullptr);
  EXPECT_EQ(nocma->AllocateFor({"lcd@7000"}, kMiB, true, &refusal).error(), EINVAL);
  EXPECT_NE(refusal.find("lcd@7000 has no IOMMU and imports only DMA-contiguous buffers"),
            std::string::npos)
      << refusal;
  EXPECT_NE(refusal.find("system-uncached maps write-combined"), std::string::npos) << refusal;
  EXPECT_EQ(nocma->Stats().heaps[0].live_buffers, 0u) << "nothing allocated for a refusal";
}

}  // namespace
}  // namespace dmaheap
