// Loading, refusing and unloading heap modules, with modules the suite builds (tests/modules/),
// on a module registry of its own over modelled memory (no System): they bind to the kernel API
// this test links, which its dynamic symbol table offers them.

#include "module/module.h"

#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdio>

#include <fstream>
#include <sstream>
#include <string>

#include "dmabuf/buffer_table.h"
#include "heap/alloc.h"
#include "heap/dma_heap.h"
#include "kapi/ksymtab.h"
#include "mm/page_alloc.h"
#include "mm/reserved_mem.h"

namespace dmaheap {
namespace {

bool Mapped(const std::string& path) {
  std::ifstream maps("/proc/self/maps");
  std::stringstream text;
  text << maps.rdbuf();
  return text.str().find(path) != std::string::npos;
}

// A System's worth of parts below the system layer, torn down in the System's order: buffers
// (their releases run module code), then heaps, then the modules.
class ModuleTest : public ::testing::Test {
 protected:
  ModuleTest()
      : pages_(std::move(PageAllocator::Create(0x40000, 16384)).value()),
        buffers_(std::move(BufferTable::Create(sys::ShmemThp::kHugeNever, CommitPolicy::kHere))
                     .value()),
        reserved_(ReservedMemory::Empty()),
        context_{*pages_, *buffers_, *reserved_},
        heaps_(std::make_unique<HeapRegistry>(context_)),
        modules_(std::make_unique<ModuleRegistry>(*heaps_, CoreExportTable())) {}
  void SetUp() override { ASSERT_TRUE(modules_->Modprobe("system_heap").ok()); }
  ~ModuleTest() override {
    buffers_.reset();
    heaps_.reset();
    modules_.reset();
  }

  ModuleRegistry& modules() { return *modules_; }
  std::vector<std::string> HeapNames() {
    std::vector<std::string> names;
    for (DmaHeap* heap : heaps_->List()) names.push_back(heap->name());
    return names;
  }
  bool HasHeap(const std::string& name) { return heaps_->Find(name) != nullptr; }
  uint64_t FreePages() {
    buffers_->ProcessReleases();
    return pages_->free_pages();
  }
  Result<Allocation> Allocate(const std::string& heap, uint64_t len) {
    AllocRequest request;
    request.heap = heaps_->Find(heap);
    if (request.heap == nullptr) return Errno(ENOENT);
    request.len = len;
    request.owner = Owner{getpid(), getuid(), getgid()};
    return DmaHeapAllocate(request);
  }
  // insmod with stderr captured into *message.
  int Insmod(const char* path, std::string* message = nullptr) {
    testing::internal::CaptureStderr();
    Result<void> r = modules().Insmod(path);
    std::string err = testing::internal::GetCapturedStderr();
    if (message != nullptr) *message = err;
    return r.ok() ? 0 : r.error();
  }

  std::unique_ptr<PageAllocator> pages_;
  std::unique_ptr<BufferTable> buffers_;
  std::unique_ptr<ReservedMemory> reserved_;
  HeapContext context_;
  std::unique_ptr<HeapRegistry> heaps_;
  std::unique_ptr<ModuleRegistry> modules_;
};

TEST_F(ModuleTest, HeapModuleServesThenUnloadsOnlyAfterItsLastBuffer) {
  ASSERT_EQ(Insmod(TEST_HEAP_MODULE_PATH), 0);
  EXPECT_TRUE(HasHeap("test_heap"));
  EXPECT_TRUE(Mapped(TEST_HEAP_MODULE_PATH));
  const uint64_t free_before = FreePages();
  Result<Allocation> a = Allocate("test_heap", 3 * 4096 + 1);
  ASSERT_TRUE(a.ok()) << a.error();
  EXPECT_EQ(lseek(a->fd.get(), 0, SEEK_END), 4 * 4096);
  EXPECT_EQ(a->buffer->ops().sg_table().size(), 4u);
  EXPECT_EQ(FreePages(), free_before - 4);
  EXPECT_TRUE(DmaBufMmapCheck(*a->buffer, {0, 4096, PROT_READ, MAP_SHARED}).ok());
  EXPECT_EQ(DmaBufMmapCheck(*a->buffer, {0, 4096, PROT_READ, MAP_PRIVATE}).error(), EINVAL)
      << "the module's mmap op decides";

  // /proc/modules: one live buffer holds the module.
  const std::string listing = modules().ProcModules();
  EXPECT_NE(listing.find("\ntest_heap_module "), std::string::npos) << listing;
  EXPECT_NE(listing.find(" 1 - Live 0x"), std::string::npos) << listing;
  EXPECT_EQ(modules().Rmmod("test_heap_module").error(), EWOULDBLOCK);
  EXPECT_TRUE(HasHeap("test_heap"));

  a = Errno(ENOENT);  // the fd and the core's reference go
  EXPECT_EQ(FreePages(), free_before);
  EXPECT_TRUE(modules().Rmmod("test_heap_module").ok());
  EXPECT_FALSE(HasHeap("test_heap"));
  EXPECT_FALSE(Mapped(TEST_HEAP_MODULE_PATH)) << "unmapped after unload";
  EXPECT_EQ(modules().Rmmod("test_heap_module").error(), ENOENT);
  // And it can come back.
  ASSERT_EQ(Insmod(TEST_HEAP_MODULE_PATH), 0);
  EXPECT_TRUE(Allocate("test_heap", 4096).ok());
}

// The RFC's subject: the system heap is a module, permanent, and refuses to be removed.
TEST_F(ModuleTest, SystemHeapIsAPermanentModule) {
  const std::string listing = modules().ProcModules();
  EXPECT_EQ(listing.rfind("system_heap ", 0), 0u) << listing;
  EXPECT_NE(listing.find(" 0 [permanent], Live 0x"), std::string::npos) << listing;
  Result<Allocation> a = Allocate("system", 4096);
  ASSERT_TRUE(a.ok());
  unsigned long size = 0;
  int refs = -1;
  ASSERT_EQ(std::sscanf(modules().ProcModules().c_str(), "system_heap %lu %d", &size, &refs), 2);
  EXPECT_GT(size, 4096u) << "its loaded size";
  EXPECT_EQ(refs, 1) << "a live buffer holds the module";
  EXPECT_NE(modules().ProcModules().find(" 1 [permanent],"), std::string::npos);
  EXPECT_EQ(modules().Rmmod("system_heap").error(), EBUSY);
  EXPECT_TRUE(Allocate("system", 4096).ok()) << "and the heap keeps serving";
  EXPECT_TRUE(Mapped("system_heap.so"));
  EXPECT_TRUE(modules().Modprobe("system_heap").ok()) << "already loaded: nothing to do";
  auto info = modules().Modinfo("system_heap");
  ASSERT_TRUE(info.ok());
  EXPECT_NE(info->find("license:        GPL v2\n"), std::string::npos) << *info;
  EXPECT_NE(info->find("import_ns:      DMA_BUF_HEAP\n"), std::string::npos) << *info;
  EXPECT_NE(info->find("permanent:      yes\n"), std::string::npos) << *info;
  EXPECT_NE(info->find("/dmaheap/modules/system_heap.so\n"), std::string::npos) << *info;
}

TEST_F(ModuleTest, ModprobeAndModinfoOfUnknownModules) {
  testing::internal::CaptureStderr();
  EXPECT_EQ(modules().Modprobe("no_such_heap").error(), ENOENT);
  EXPECT_EQ(modules().Modinfo("no_such_heap").error(), ENOENT);
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("modprobe: FATAL: Module no_such_heap not found."), std::string::npos) << err;
  EXPECT_NE(err.find("modinfo: ERROR: Module no_such_heap not found."), std::string::npos) << err;
}

TEST_F(ModuleTest, PermanentModuleCannotBeRemoved) {
  ASSERT_EQ(Insmod(PERMANENT_MODULE_PATH), 0);
  const std::string listing = modules().ProcModules();
  EXPECT_NE(listing.find("permanent_heap "), std::string::npos);
  EXPECT_NE(listing.find(" 0 [permanent], Live 0x"), std::string::npos) << listing;
  EXPECT_EQ(modules().Rmmod("permanent_heap").error(), EBUSY);
  EXPECT_TRUE(Mapped(PERMANENT_MODULE_PATH));
  std::string message;
  EXPECT_EQ(Insmod(PERMANENT_MODULE_PATH, &message), EEXIST);
  EXPECT_NE(message.find("already loaded"), std::string::npos) << message;
}

TEST_F(ModuleTest, FailingInitLeavesNoHeapAndNoMapping) {
  std::string message;
  EXPECT_EQ(Insmod(FAILING_MODULE_PATH, &message), ENODEV);
  EXPECT_NE(message.find("failing_module: init failed"), std::string::npos) << message;
  EXPECT_FALSE(HasHeap("failing_heap"));
  EXPECT_FALSE(Mapped(FAILING_MODULE_PATH));
  EXPECT_EQ(modules().ProcModules().find("failing_module"), std::string::npos);
}

TEST_F(ModuleTest, StaticConstructorCannotRegister) {
  std::string message;
  EXPECT_EQ(Insmod(STATIC_CTOR_MODULE_PATH, &message), EINVAL);
  EXPECT_NE(message.find("outside a module's init refused"), std::string::npos) << message;
  EXPECT_FALSE(HasHeap("sneaky_heap"));
}

TEST_F(ModuleTest, ModuleCallsItsOwnFunctionNotTheCoresNamesake) {
  EXPECT_EQ(Insmod(NAME_CLASH_MODULE_PATH), 0);
}

TEST_F(ModuleTest, RefusalsLeaveTheSystemUnharmed) {
  struct Row {
    const char* path;
    int err;
    const char* message;
  };
  const std::string not_elf = ::testing::TempDir() + "/not-elf.so";
  std::ofstream(not_elf) << "#!/bin/sh\necho not a module\n";
  const Row rows[] = {
      {UNKNOWN_SYMBOL_MODULE_PATH, ENOENT, "unknown_symbol_heap: Unknown symbol dma_heap_remove (err -2)"},
      {not_elf.c_str(), ENOEXEC, "not an ELF file"},
      {PROPRIETARY_MODULE_PATH, ENOENT, "Unknown symbol dma_heap_add (err -2)"},
      {NO_IMPORT_MODULE_PATH, EINVAL, "from namespace DMA_BUF_HEAP, but does not import it"},
      {WRONG_VERMAGIC_MODULE_PATH, ENOEXEC, "version magic '0.0.0 bogus' should be"},
      {TRUNCATED_MODULE_PATH, EINVAL, "truncated"},
      {NOT_A_MODULE_PATH, EINVAL, "no module descriptor"},
  };
  const std::string boot_listing = modules().ProcModules();
  for (const Row& row : rows) {
    SCOPED_TRACE(row.path);
    std::string message;
    EXPECT_EQ(Insmod(row.path, &message), row.err);
    EXPECT_NE(message.find(row.message), std::string::npos) << message;
    EXPECT_FALSE(Mapped(row.path)) << "checked before mapping";
  }
  EXPECT_EQ(modules().ProcModules(), boot_listing);
  EXPECT_EQ(HeapNames(), (std::vector<std::string>{"system", "system-uncached"}));
  EXPECT_TRUE(Allocate("system", 4096).ok());
}

}  // namespace
}  // namespace dmaheap
