// The memory exports modules see (kapi.h): a module context over a board's reserved memory, as
// the CMA and carveout heaps walk it — CMA areas with their names, sizes and flags, the default
// area, cma_alloc/cma_release, and every reserved region with its flags.

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "dmabuf/buffer_table.h"
#include "dmaheap/kapi.h"
#include "heap/dma_heap.h"
#include "kapi/module_context.h"
#include "mm/page_alloc.h"
#include "mm/reserved_mem.h"

namespace dmaheap {
namespace {

constexpr uint64_t kMiB = 1 << 20;

class ReservedContext final : public ModuleContext {
 public:
  ReservedContext()
      : pages_(std::move(PageAllocator::Create(0x40000, 0x40000)).value()),
        buffers_(std::move(BufferTable::Create(sys::ShmemThp::kHugeNever, CommitPolicy::kHere))
                     .value()) {
    std::vector<ReservedRegion> regions(3);
    regions[0] = {.name = "reserved",
                  .compatible = "shared-dma-pool",
                  .base = 0x7c000000,
                  .size = 64 * kMiB,
                  .reusable = true,
                  .cma_default = true};
    regions[1] = {.name = "carveout@60000000",
                  .base = 0x60000000,
                  .size = 16 * kMiB,
                  .fixed = true,
                  .no_map = true,
                  .heap = true};
    regions[2] = {.name = "pool",
                  .compatible = "shared-dma-pool",
                  .base = 0x70000000,
                  .size = 4 * kMiB,
                  .reusable = true,
                  .heap = true};
    reserved_ = std::move(ReservedMemory::Create(*pages_, regions)).value();
    context_ = std::make_unique<HeapContext>(HeapContext{*pages_, *buffers_, *reserved_});
  }
  Result<DmaHeap*> AddHeap(DmaHeapExportInfo, std::unique_ptr<DmaHeapOps>) override {
    return Errno(EPERM);
  }
  HeapContext& heap_context() override { return *context_; }

 private:
  std::unique_ptr<PageAllocator> pages_;
  std::unique_ptr<BufferTable> buffers_;
  std::unique_ptr<ReservedMemory> reserved_;
  std::unique_ptr<HeapContext> context_;
};

TEST(KapiReservedMemoryTest, RegionsAreWalkedInBootOrderWithTheirFlags) {
  ReservedContext context;
  dmaheap_module module{&context, true};
  std::vector<std::string> names;
  std::vector<unsigned long> flags;
  auto collect = [](const reserved_mem* rmem, void* data) {
    auto* out =
        static_cast<std::pair<std::vector<std::string>*, std::vector<unsigned long>*>*>(data);
    out->first->push_back(rmem->name);
    out->second->push_back(rmem->flags);
    return 0;
  };
  std::pair<std::vector<std::string>*, std::vector<unsigned long>*> out{&names, &flags};
  ASSERT_EQ(reserved_mem_for_each(&module, collect, &out), 0);
  EXPECT_EQ(names, (std::vector<std::string>{"reserved", "carveout@60000000", "pool"}));
  EXPECT_EQ(flags, (std::vector<unsigned long>{RESERVED_MEM_REUSABLE,
                                               RESERVED_MEM_NO_MAP | RESERVED_MEM_HEAP,
                                               RESERVED_MEM_REUSABLE | RESERVED_MEM_HEAP}));
  // The walk stops at the first non-zero answer and returns it.
  auto stop = [](const reserved_mem*, void*) { return 7; };
  EXPECT_EQ(reserved_mem_for_each(&module, stop, nullptr), 7);
  EXPECT_EQ(reserved_mem_for_each(nullptr, stop, nullptr), -EINVAL);
  EXPECT_EQ(reserved_mem_for_each(&module, nullptr, nullptr), -EINVAL);
}

TEST(KapiCmaTest, AreasAndTheDefaultOneAsTheCmaHeapSeesThem) {
  ReservedContext context;
  dmaheap_module module{&context, true};
  struct cma* def = dev_get_cma_area(&module, nullptr);
  ASSERT_NE(def, nullptr);
  EXPECT_STREQ(cma_get_name(def), "reserved");
  EXPECT_EQ(cma_get_size(def), 64 * kMiB);
  EXPECT_EQ(cma_get_flags(def), CMA_FLAG_DEFAULT);
  EXPECT_EQ(dev_get_cma_area(&module, reinterpret_cast<struct device*>(&module)), def)
      << "no device has an area of its own: each gets the default";

  std::vector<std::string> areas;
  auto collect = [](struct cma* cma, void* data) {
    static_cast<std::vector<std::string>*>(data)->push_back(cma_get_name(cma) + std::string(":") +
                                                            std::to_string(cma_get_flags(cma)));
    return 0;
  };
  ASSERT_EQ(cma_for_each_area(&module, collect, &areas), 0);
  EXPECT_EQ(areas, (std::vector<std::string>{"reserved:1", "pool:2"}));

  uint64_t pfn = 0;
  ASSERT_EQ(cma_alloc(def, 256, 8, false, &pfn), 0);
  EXPECT_EQ(pfn, 0x7c000u);
  EXPECT_EQ(cma_alloc(def, 0, 0, false, &pfn), -EINVAL);
  testing::internal::CaptureStderr();
  EXPECT_EQ(cma_alloc(def, 64 * 256, 0, false, &pfn), -ENOMEM);
  EXPECT_EQ(testing::internal::GetCapturedStderr(),
            "cma: __cma_alloc: reserved: alloc failed, req-size: 16384 pages, ret: -12\n");
  testing::internal::CaptureStderr();
  EXPECT_EQ(cma_alloc(def, 64 * 256, 0, true, &pfn), -ENOMEM);
  EXPECT_EQ(testing::internal::GetCapturedStderr(), "") << "no_warn";
  EXPECT_TRUE(cma_release(def, 0x7c000, 256));
  EXPECT_FALSE(cma_release(def, 0x60000, 1)) << "outside the area";
  EXPECT_FALSE(cma_release(nullptr, 0x7c000, 1));
}

}  // namespace
}  // namespace dmaheap
