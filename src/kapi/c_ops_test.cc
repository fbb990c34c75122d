// A module's C tables behind the core's one heap seam, without a module file: C ops defined
// here are registered through dma_heap_add with a module context of the test's own, and every
// op the dma-buf core calls reaches its C counterpart with the right arguments.

#include "kapi/c_ops.h"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

#include "heap/alloc.h"
#include "heap/test_heap.h"
#include "kapi/module_context.h"

namespace dmaheap {
namespace {

// What the C ops below saw.
struct Calls {
  int releases = 0;
  int begins = 0, ends = 0;
  dma_data_direction last_dir = DMA_BIDIRECTIONAL;
  std::vector<std::string> attached;
  int detaches = 0, maps = 0, unmaps = 0;
};
Calls g_calls;

struct CBuffer {
  dma_buf_sg_entry table[2];
};

void Release(void* priv) {
  ++g_calls.releases;
  delete static_cast<CBuffer*>(priv);
}
int Begin(void*, dma_data_direction dir) {
  ++g_calls.begins;
  g_calls.last_dir = dir;
  return 0;
}
int End(void*, dma_data_direction) {
  ++g_calls.ends;
  return -EAGAIN;  // the kernel documents SYNC may fail with EAGAIN: it reaches the caller
}
int Mmap(void*, uint64_t, uint64_t, int, int flags) {
  return (flags & MAP_TYPE) == MAP_SHARED ? 0 : -EINVAL;
}
const dma_buf_sg_entry* SgTable(void* priv, size_t* count) {
  *count = 2;
  return static_cast<CBuffer*>(priv)->table;
}
int Attach(void*, dma_buf_attachment* a) {
  EXPECT_NE(a->dev, nullptr) << "the device, for dma_map_sgtable";
  if (std::strcmp(a->dev_name, "far-away") == 0) return -EINVAL;  // cannot reach the buffer
  g_calls.attached.push_back(a->dev_name);
  a->priv = &g_calls;
  return 0;
}
void Detach(void*, dma_buf_attachment* a) {
  EXPECT_EQ(a->priv, &g_calls);
  ++g_calls.detaches;
}
// The device sees the buffer at a bus offset: its own table, one entry.
dma_buf_sg_entry g_device_view[1] = {{0x1000, 8192}};
int Map(void*, dma_buf_attachment* a, dma_data_direction, const dma_buf_sg_entry** table,
        size_t* count) {
  EXPECT_EQ(a->priv, &g_calls);
  ++g_calls.maps;
  *table = g_device_view;
  *count = 1;
  return 0;
}
void Unmap(void*, dma_buf_attachment*, dma_data_direction) { ++g_calls.unmaps; }

const dma_buf_ops kFullOps = {.attach = Attach,
                              .detach = Detach,
                              .map_dma_buf = Map,
                              .unmap_dma_buf = Unmap,
                              .release = Release,
                              .begin_cpu_access = Begin,
                              .end_cpu_access = End,
                              .mmap = Mmap,
                              .sg_table = SgTable};
const dma_buf_ops kMinimalOps = {.release = Release};
const dma_buf_ops* g_ops = &kFullOps;
int g_allocate_rc = 0;  // what Allocate returns after exporting

int Allocate(dma_heap* heap, uint64_t len, uint32_t fd_flags, uint64_t, dma_buf** out) {
  auto* b = new CBuffer{{{0x40000000, 4096}, {0x40100000, len - 4096}}};
  const dma_buf_export_info info = {g_ops, len, fd_flags, b};
  const int rc = dma_buf_export(heap, &info, out);
  if (rc != 0) delete b;
  if (rc == 0 && g_allocate_rc != 0) {
    // A broken module: it exported, then reports something other than 0 / -errno.
    delete *out;
    return g_allocate_rc;
  }
  return rc;
}
const dma_heap_ops kHeapOps = {Allocate};

// Devices without an IOMMU and without a swiotlb: DMA addresses are physical.
DmaDevice g_far_away(DmaDeviceSpec{.name = "far-away"}, nullptr);
DmaDevice g_display(DmaDeviceSpec{.name = "display"}, nullptr);
DmaDevice g_codec(DmaDeviceSpec{.name = "codec"}, nullptr);

// The module context: registers into the harness's registry, as the module layer would.
class TestModule final : public ModuleContext {
 public:
  explicit TestModule(HeapRegistry& heaps) : heaps_(heaps) {}
  Result<DmaHeap*> AddHeap(DmaHeapExportInfo info, std::unique_ptr<DmaHeapOps> ops) override {
    info.owner = &owner;
    DmaHeap* heap = TRY(heaps_.Add(info));
    ops_.push_back(std::move(ops));
    return heap;
  }
  HeapContext& heap_context() override { return heaps_.context(); }
  HeapOwner owner;

 private:
  HeapRegistry& heaps_;
  std::vector<std::unique_ptr<DmaHeapOps>> ops_;
};

class COpsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    g_calls = Calls{};
    g_ops = &kFullOps;
    g_allocate_rc = 0;
    dmaheap_module context{&module_, true};
    const dma_heap_export_info info = {"c-heap", &kHeapOps, nullptr, DMA_HEAP_CONTIGUOUS, 1 << 20};
    dma_heap* heap = nullptr;
    ASSERT_EQ(dma_heap_add(&context, &info, &heap), 0);
    heap_ = Heap(heap);
  }
  Result<Allocation> Allocate(uint64_t len) {
    AllocRequest request;
    request.heap = heap_;
    request.len = len;
    return DmaHeapAllocate(request);
  }

  testing_util::HeapHarness harness_;
  TestModule module_{harness_.registry()};
  DmaHeap* heap_ = nullptr;
};

TEST_F(COpsTest, HeapIsRegisteredWithItsPropertiesAndOwner) {
  EXPECT_EQ(heap_->name(), "c-heap");
  EXPECT_TRUE(heap_->properties().contiguous);
  EXPECT_TRUE(heap_->properties().cached);
  EXPECT_EQ(heap_->properties().max_size, 1u << 20);
  Result<Allocation> a = Allocate(8192);
  ASSERT_TRUE(a.ok()) << a.error();
  EXPECT_EQ(module_.owner.refs.load(), 1) << "a live buffer holds its module";
  a = Errno(ENOENT);
  harness_.buffers().ProcessReleases();
  EXPECT_EQ(module_.owner.refs.load(), 0);
  EXPECT_EQ(g_calls.releases, 1);
}

TEST_F(COpsTest, EveryBufferOpReachesItsCCounterpart) {
  Result<Allocation> a = Allocate(8192);
  ASSERT_TRUE(a.ok());
  DmaBuf& buf = *a->buffer;
  // The exporter's table is read where it lies.
  const std::span<const ScatterEntry> table = buf.ops().sg_table();
  ASSERT_EQ(table.size(), 2u);
  EXPECT_EQ(table[1].dma_address, 0x40100000u);
  EXPECT_EQ(table[1].length, 4096u);
  EXPECT_TRUE(DmaBufMmapCheck(buf, {0, 8192, PROT_READ, MAP_SHARED}).ok());
  EXPECT_EQ(DmaBufMmapCheck(buf, {0, 8192, PROT_READ, MAP_PRIVATE}).error(), EINVAL);
  EXPECT_TRUE(buf.CpuAccess(DmaDirection::kFromDevice, /*end=*/false).ok());
  EXPECT_EQ(g_calls.last_dir, DMA_FROM_DEVICE);
  EXPECT_EQ(buf.CpuAccess(DmaDirection::kFromDevice, /*end=*/true).error(), EAGAIN);
  EXPECT_EQ(g_calls.begins, 1);
  EXPECT_EQ(g_calls.ends, 1);

  EXPECT_EQ(DmaBufAttach(buf, g_far_away).error(), EINVAL);
  const uint64_t device_unmaps = g_display.counters().unmaps;
  DmaBufAttachment* display = std::move(DmaBufAttach(buf, g_display)).value();
  EXPECT_EQ(g_calls.attached, std::vector<std::string>{"display"});
  EXPECT_EQ(buf.attached_devices(), std::vector<std::string>{"display"});
  Result<std::span<const ScatterEntry>> mapped =
      DmaBufMapAttachment(buf, *display, DmaDirection::kToDevice);
  ASSERT_TRUE(mapped.ok());
  ASSERT_EQ(mapped->size(), 1u);
  EXPECT_EQ((*mapped)[0].dma_address, 0x1000u);
  EXPECT_EQ(DmaBufMapAttachment(buf, *display, DmaDirection::kToDevice).error(), EBUSY);
  DmaBufUnmapAttachment(buf, *display, DmaDirection::kToDevice);
  EXPECT_EQ(g_calls.unmaps, 1);
  EXPECT_TRUE(DmaBufMapAttachment(buf, *display, DmaDirection::kToDevice).ok());
  DmaBufDetach(buf, display);  // still mapped: unmapped first
  EXPECT_EQ(g_calls.unmaps, 2);
  EXPECT_EQ(g_display.counters().unmaps, device_unmaps) << "the module's unmap is the only one";
  EXPECT_EQ(g_calls.detaches, 1);
  EXPECT_TRUE(buf.attached_devices().empty());
  EXPECT_EQ(g_calls.releases, 0);
}

// An importer that never detaches: the release unmaps and detaches for it, before the buffer's
// own release, so the exporter's per-attachment state goes with the buffer.
TEST_F(COpsTest, ReleaseDetachesWhatImportersLeft) {
  Result<Allocation> a = Allocate(8192);
  ASSERT_TRUE(a.ok());
  DmaBufAttachment* mapped = std::move(DmaBufAttach(*a->buffer, g_display)).value();
  ASSERT_TRUE(DmaBufMapAttachment(*a->buffer, *mapped, DmaDirection::kToDevice).ok());
  ASSERT_TRUE(DmaBufAttach(*a->buffer, g_codec).ok());
  a = Errno(ENOENT);  // the last fd and the core's reference go
  harness_.buffers().ProcessReleases();
  EXPECT_EQ(g_calls.unmaps, 1) << "only the mapped one is unmapped";
  EXPECT_EQ(g_calls.detaches, 2);
  EXPECT_EQ(g_calls.releases, 1);
}

// A module that leaves every optional op out gets the core's defaults: mapping refused, CPU
// access a no-op, attach accepted, map = dma_map_sgtable of its sg table — which, empty, maps
// nothing (EINVAL).
TEST_F(COpsTest, OptionalOpsDefaultAsTheKernel) {
  g_ops = &kMinimalOps;
  Result<Allocation> a = Allocate(4096);
  ASSERT_TRUE(a.ok());
  DmaBuf& buf = *a->buffer;
  EXPECT_EQ(DmaBufMmapCheck(buf, {0, 4096, PROT_READ, MAP_SHARED}).error(), EINVAL);
  EXPECT_TRUE(buf.CpuAccess(DmaDirection::kBidirectional, false).ok());
  EXPECT_TRUE(buf.ops().sg_table().empty());
  DmaBufAttachment* any = std::move(DmaBufAttach(buf, g_display)).value();
  EXPECT_EQ(DmaBufMapAttachment(buf, *any, DmaDirection::kBidirectional).error(), EINVAL);
  EXPECT_FALSE(any->mapped);
  DmaBufDetach(buf, any);
}

TEST_F(COpsTest, ModuleBreakingTheReturnContractIsEio) {
  g_allocate_rc = 1;
  EXPECT_EQ(Allocate(4096).error(), EIO);
  harness_.buffers().ProcessReleases();
  EXPECT_EQ(g_calls.releases, 1) << "the export it abandoned is released once";
  EXPECT_EQ(module_.owner.refs.load(), 0);
}

TEST_F(COpsTest, RegistrationNeedsAnActiveContextAndValidArguments) {
  const dma_heap_export_info info = {"late", &kHeapOps, nullptr};
  dma_heap* heap = nullptr;
  dmaheap_module inactive{&module_, false};
  testing::internal::CaptureStderr();
  EXPECT_EQ(dma_heap_add(&inactive, &info, &heap), -EINVAL);
  EXPECT_EQ(dma_heap_add(nullptr, &info, &heap), -EINVAL);
  EXPECT_NE(testing::internal::GetCapturedStderr().find("outside a module's init refused"),
            std::string::npos);
  dmaheap_module active{&module_, true};
  EXPECT_EQ(dma_heap_add(&active, nullptr, &heap), -EINVAL);
  const dma_heap_export_info no_allocate = {"no-ops", nullptr, nullptr};
  testing::internal::CaptureStderr();
  EXPECT_EQ(dma_heap_add(&active, &no_allocate, &heap), -EINVAL);
  EXPECT_EQ(dma_heap_add(&active, &info, &heap), 0);
  EXPECT_EQ(dma_heap_add(&active, &info, &heap), -EEXIST);
  testing::internal::GetCapturedStderr();
  const dma_buf_export_info no_release = {&kMinimalOps, 0, 0, nullptr};
  dma_buf* out = nullptr;
  EXPECT_EQ(dma_buf_export(heap, &no_release, &out), -EINVAL) << "size 0";
  EXPECT_EQ(dma_heap_get_name(heap), std::string("late"));
  EXPECT_EQ(dma_heap_get_name(nullptr), nullptr);
}

}  // namespace
}  // namespace dmaheap
