#include "heap/dma_heap.h"

#include <gtest/gtest.h>

#include <string>

#include "dmabuf/buffer_table.h"
#include "mm/page_alloc.h"
#include "mm/reserved_mem.h"

namespace dmaheap {
namespace {

class NullHeapOps final : public DmaHeapOps {
 public:
  Result<DmaBufRef> Allocate(DmaHeap&, uint64_t, uint32_t, uint64_t) const override {
    return Errno(ENOMEM);
  }
};

class RegistryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pages_ = std::move(PageAllocator::Create(0, 1024)).value();
    buffers_ = std::move(BufferTable::Create(sys::ShmemThp::kHugeNever, CommitPolicy::kHere)).value();
    context_ = std::make_unique<HeapContext>(HeapContext{*pages_, *buffers_, *reserved_});
    registry_ = std::make_unique<HeapRegistry>(*context_);
  }
  DmaHeapExportInfo Info(std::string name) {
    DmaHeapExportInfo info;
    info.name = std::move(name);
    info.ops = &ops_;
    return info;
  }

  NullHeapOps ops_;
  std::unique_ptr<PageAllocator> pages_;
  std::unique_ptr<BufferTable> buffers_;
  std::unique_ptr<ReservedMemory> reserved_ = ReservedMemory::Empty();
  std::unique_ptr<HeapContext> context_;
  std::unique_ptr<HeapRegistry> registry_;
};

TEST_F(RegistryTest, EmptyNameIsEinval) {
  testing::internal::CaptureStderr();
  EXPECT_EQ(registry_->Add(Info("")).error(), EINVAL);
  EXPECT_NE(testing::internal::GetCapturedStderr().find("Cannot add heap without a name"),
            std::string::npos);
}

TEST_F(RegistryTest, MissingOpsIsEinval) {
  DmaHeapExportInfo info = Info("x");
  info.ops = nullptr;
  testing::internal::CaptureStderr();
  EXPECT_EQ(registry_->Add(info).error(), EINVAL);
  EXPECT_NE(testing::internal::GetCapturedStderr().find("invalid ops struct"),
            std::string::npos);
}

TEST_F(RegistryTest, DuplicateNameIsEexistAndKeepsTheFirst) {
  auto first = registry_->Add(Info("dup"));
  ASSERT_TRUE(first.ok());
  testing::internal::CaptureStderr();
  EXPECT_EQ(registry_->Add(Info("dup")).error(), EEXIST);
  testing::internal::GetCapturedStderr();
  EXPECT_EQ(registry_->Find("dup"), *first);
  EXPECT_EQ(registry_->List().size(), 1u);
}

TEST_F(RegistryTest, At128HeapsTheNextIsEbusy) {
  for (unsigned i = 0; i < HeapRegistry::kMaxHeaps; ++i) {
    auto heap = registry_->Add(Info("heap" + std::to_string(i)));
    ASSERT_TRUE(heap.ok()) << i;
    EXPECT_EQ((*heap)->minor(), i);  // lowest free minor first
  }
  testing::internal::CaptureStderr();
  EXPECT_EQ(registry_->Add(Info("one-too-many")).error(), EBUSY);
  testing::internal::GetCapturedStderr();
  EXPECT_EQ(registry_->List().size(), 128u);
  EXPECT_EQ(registry_->Find("one-too-many"), nullptr);
}

TEST_F(RegistryTest, FindAndListInRegistrationOrder) {
  ASSERT_TRUE(registry_->Add(Info("b")).ok());
  ASSERT_TRUE(registry_->Add(Info("a")).ok());
  auto list = registry_->List();
  ASSERT_EQ(list.size(), 2u);
  EXPECT_EQ(list[0]->name(), "b");
  EXPECT_EQ(list[1]->name(), "a");
  EXPECT_EQ(registry_->Find("nope"), nullptr);
}

}  // namespace
}  // namespace dmaheap
