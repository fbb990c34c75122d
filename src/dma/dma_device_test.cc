// DmaDevice's mappings against the kernel's code paths: dma-direct (phys_to_dma, dma_capable,
// the swiotlb bounce and the overflow error), iommu-dma (one IOVA range, __finalise_sg's
// merging), arm64's cache maintenance rules, and drm_prime_get_contiguous_size.

#include "dma/dma_device.h"

#include <gtest/gtest.h>

#include "dma/test_ok.h"

namespace dmaheap {
namespace {

constexpr uint64_t kPage = 4096;
constexpr uint64_t kMiB = uint64_t{1} << 20;

DmaDeviceSpec Direct(const char* name, unsigned bits = 32) {
  DmaDeviceSpec spec;
  spec.name = name;
  spec.dma_mask = DmaBitMask(bits);
  return spec;
}

DmaDeviceSpec Iommu(const char* name, uint64_t max_seg = 64 << 10) {
  DmaDeviceSpec spec = Direct(name);
  spec.iommu = true;
  spec.max_seg_size = max_seg;
  return spec;
}

TEST(DmaDirectTest, DmaAddressIsPhysicalMinusTheBusOffset) {
  DmaDeviceSpec spec = Direct("dev");
  // dma-ranges = <0x0 0x0  0x0 0x40000000  0x0 0x80000000>: bus 0 is CPU 0x40000000.
  spec.has_range_map = true;
  spec.bus_start = 0;
  spec.cpu_start = 0x40000000;
  spec.range_size = 0x80000000;
  spec.bus_limit = 0x7fffffff;
  DmaDevice dev(spec, nullptr);
  EXPECT_EQ(dev.limit(), 0x7fffffffu) << "min_not_zero(mask, bus_dma_limit)";
  const SgTable pages = {{0x40001000, kPage}, {0x50000000, 2 * kPage}};
  Result<DmaMapping> m = dev.Map(pages, DmaDirection::kToDevice, 0);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->segments, (SgTable{{0x1000, kPage}, {0x10000000, 2 * kPage}}))
      << "one segment per entry: dma-direct never merges";
  EXPECT_EQ(dev.PhysToDma(0x20000000), kDmaMappingError) << "outside the range map";
  dev.Unmap(*m, 0);
}

TEST(DmaDirectTest, UnreachableMemoryWithoutASwiotlbIsEioWithTheKernelsWarning) {
  DmaDevice dev(Direct("display"), nullptr);
  const SgTable pages = {{0x80000000, kPage}, {0x100000000, kPage}};
  testing::internal::CaptureStderr();
  EXPECT_EQ(dev.Map(pages, DmaDirection::kToDevice, 0).error(), EIO);
  EXPECT_EQ(testing::internal::GetCapturedStderr(),
            "dmaheap: display: DMA addr 0x0000000100000000+4096 overflow (mask ffffffff, bus "
            "limit 0).\n");
  // The last byte counts: a page ending exactly at 4 GiB is reachable.
  EXPECT_TRUE(dev.Map(SgTable{{0xfffff000, kPage}}, DmaDirection::kToDevice, 0).ok());
  EXPECT_EQ(dev.counters().map_errors, 1u);
}

TEST(DmaDirectTest, UnreachableMemoryBouncesThroughTheSwiotlb) {
  Swiotlb pool({0xf0000000, 4 * kMiB, false});
  DmaDevice dev(Direct("display"), &pool);
  DmaStats buffer;
  const SgTable pages = {{0x80000000, kPage}, {0x100000000, 2 * kPage}};
  Result<DmaMapping> m = dev.Map(pages, DmaDirection::kBidirectional, 0, &buffer);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->segments, (SgTable{{0x80000000, kPage}, {0xf0000000, 2 * kPage}}))
      << "the second entry is seen at its bounce slot";
  EXPECT_EQ(pool.used_slots(), 4u);
  DmaCounters c = dev.counters();
  EXPECT_EQ(c.bounces, 1u);
  EXPECT_EQ(c.bytes_bounced, 2 * kPage) << "copied to the slot at map time";
  EXPECT_EQ(c.bytes_synced, 3 * kPage) << "non-coherent: cleaned for the device";
  EXPECT_EQ(buffer.Snapshot().bytes_bounced, 2 * kPage) << "the buffer's counts too";
  // A bounce larger than a segment cannot be had.
  testing::internal::CaptureStderr();
  EXPECT_EQ(dev.Map(SgTable{{0x100000000, kMiB}}, DmaDirection::kToDevice, 0).error(), EIO);
  EXPECT_NE(testing::internal::GetCapturedStderr().find("swiotlb buffer is full (sz: 1048576"),
            std::string::npos);
  EXPECT_EQ(pool.used_slots(), 4u) << "a failed map gives back what it took";
  dev.Unmap(*m, 0, &buffer);
  EXPECT_EQ(pool.used_slots(), 0u);
  EXPECT_EQ(dev.counters().bytes_bounced, 4 * kPage) << "copied back: the device may have written";
}

TEST(DmaDirectTest, ForcedSwiotlbBouncesEverything) {
  Swiotlb pool({0xf0000000, kMiB, true});
  DmaDevice dev(Direct("dev", 64), &pool);
  Result<DmaMapping> m = dev.Map(SgTable{{0x80000000, kPage}}, DmaDirection::kToDevice, 0);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->segments[0].dma_address, 0xf0000000u);
  dev.Unmap(*m, 0);
}

TEST(DmaSyncTest, CacheMaintenanceFollowsArm64sRules) {
  DmaDevice dev(Direct("dev"), nullptr);
  DmaDeviceSpec coherent_spec = Direct("coherent");
  coherent_spec.coherent = true;
  DmaDevice coherent(coherent_spec, nullptr);
  const SgTable pages = {{0x80000000, 2 * kPage}};
  DmaMapping m = Ok(dev.Map(pages, DmaDirection::kBidirectional, 0));
  DmaMapping cm = Ok(coherent.Map(pages, DmaDirection::kBidirectional, 0));
  EXPECT_EQ(dev.counters().bytes_synced, 2 * kPage);
  EXPECT_EQ(coherent.counters().bytes_synced, 0u);

  dev.SyncForCpu(m, DmaDirection::kFromDevice);  // invalidate
  dev.SyncForCpu(m, DmaDirection::kToDevice);    // arm64: nothing to do
  dev.SyncForDevice(m, DmaDirection::kToDevice);  // clean
  coherent.SyncForCpu(cm, DmaDirection::kFromDevice);
  coherent.SyncForDevice(cm, DmaDirection::kToDevice);
  DmaCounters c = dev.counters();
  EXPECT_EQ(c.syncs_for_cpu, 1u);
  EXPECT_EQ(c.syncs_for_device, 1u);
  EXPECT_EQ(c.bytes_synced, 6 * kPage);
  EXPECT_EQ(coherent.counters().syncs_for_cpu, 0u) << "a coherent device needs none";
  EXPECT_EQ(coherent.counters().syncs_for_device, 0u);

  DmaMapping skipped = Ok(dev.Map(pages, DmaDirection::kToDevice, kDmaAttrSkipCpuSync));
  EXPECT_EQ(dev.counters().bytes_synced, 6 * kPage) << "DMA_ATTR_SKIP_CPU_SYNC";
  dev.Unmap(skipped, kDmaAttrSkipCpuSync);
  dev.Unmap(m, 0);  // bidirectional: invalidated for the CPU
  EXPECT_EQ(dev.counters().bytes_synced, 8 * kPage);
  coherent.Unmap(cm, 0);
  EXPECT_EQ(dev.counters().maps, 2u);
  EXPECT_EQ(dev.counters().unmaps, 2u);
}

TEST(DmaIommuTest, TheWholeListTakesOneIovaRangeFromTheTop) {
  DmaDevice dev(Iommu("codec", 0xffffffff), nullptr);
  // A system-heap buffer: a 1 MiB block, a 64 KiB block and a page, scattered in RAM.
  const SgTable pages = {{0x120000000, kMiB}, {0x80010000, 64 << 10}, {0x90003000, kPage}};
  Result<DmaMapping> m = dev.Map(pages, DmaDirection::kBidirectional, 0);
  ASSERT_TRUE(m.ok());
  // 273 pages, aligned to 512: the highest 2 MiB-aligned start that fits below 4 GiB.
  EXPECT_EQ(m->segments, (SgTable{{0xffe00000, kMiB + (68 << 10)}}));
  EXPECT_EQ(dev.iova()->bytes_in_use(), kMiB + (68 << 10));
  EXPECT_EQ(DmaContiguousSize(m->segments), kMiB + (68 << 10));
  dev.Unmap(*m, 0);
  EXPECT_EQ(dev.iova()->bytes_in_use(), 0u);
}

TEST(DmaIommuTest, SegmentsMergeUpToTheMaximumSegmentSize) {
  DmaDevice dev(Iommu("gpu", kPage), nullptr);
  const SgTable pages = {{0x80000000, kPage}, {0x90000000, kPage}, {0xa0000000, kPage}};
  DmaMapping m = Ok(dev.Map(pages, DmaDirection::kToDevice, 0));
  // 3 pages padded to 4, 4-aligned below 4 GiB: 0xffffc000; one segment per page (4 KiB
  // maximum), at consecutive IOVAs.
  EXPECT_EQ(m.segments,
            (SgTable{{0xffffc000, kPage}, {0xffffd000, kPage}, {0xffffe000, kPage}}));
  EXPECT_EQ(DmaContiguousSize(m.segments), 3 * kPage) << "contiguous in DMA space all the same";
  dev.Unmap(m, 0);
  // A first entry longer than the maximum makes the kernel's unsigned arithmetic wrap, and
  // what follows joins it.
  DmaDevice wide(Iommu("display"), nullptr);
  DmaMapping w = Ok(wide.Map(SgTable{{0x80000000, kMiB}, {0x90000000, 64 << 10}},
                           DmaDirection::kToDevice, 0));
  EXPECT_EQ(w.segments.size(), 1u);
  wide.Unmap(w, 0);
}

TEST(DmaIommuTest, AnOffsetInTheFirstPageIsKeptInTheIova) {
  DmaDevice dev(Iommu("dev"), nullptr);
  DmaMapping m = Ok(dev.Map(SgTable{{0x80000800, 0x800}}, DmaDirection::kToDevice, 0));
  EXPECT_EQ(m.segments, (SgTable{{0xfffff800, 0x800}}));
  dev.Unmap(m, 0);
}

TEST(DmaIommuTest, IovaExhaustionIsEnomem) {
  DmaDeviceSpec spec = Iommu("small");
  spec.iova_bits = 20;
  DmaDevice dev(spec, nullptr);
  EXPECT_EQ(dev.Map(SgTable{{0x80000000, 2 * kMiB}}, DmaDirection::kToDevice, 0).error(), ENOMEM);
  EXPECT_EQ(dev.counters().map_errors, 1u);
  EXPECT_EQ(dev.Map(SgTable{}, DmaDirection::kToDevice, 0).error(), EINVAL);
}

TEST(DmaContiguousSizeTest, LeadingRunOfDmaContiguousSegments) {
  EXPECT_EQ(DmaContiguousSize(SgTable{{0x1000, 0x1000}, {0x2000, 0x1000}, {0x5000, 0x1000}}),
            0x2000u);
  EXPECT_EQ(DmaContiguousSize(SgTable{{0x1000, 0x1000}, {0x2000, 0}, {0x2000, 0x1000}}), 0x1000u)
      << "a zero length ends the walk";
  EXPECT_EQ(DmaContiguousSize(SgTable{}), 0u);
}

}  // namespace
}  // namespace dmaheap
