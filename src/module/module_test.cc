// Loading, refusing and unloading heap modules in an embedded System, with modules the suite
// builds (tests/modules/); they bind to the kernel API in libdmaheap.so, which the test links.

#include "module/module.h"

#include <unistd.h>

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>
#include <string>

#include "core/kernel.h"
#include "dmaheap/dmaheap.h"
#include "test_util.h"

namespace dmaheap {
namespace {

bool Mapped(const std::string& path) {
  std::ifstream maps("/proc/self/maps");
  std::stringstream text;
  text << maps.rdbuf();
  return text.str().find(path) != std::string::npos;
}

bool HasHeap(System& sys, const std::string& name) {
  for (const auto& n : sys.HeapNames()) {
    if (n == name) return true;
  }
  return false;
}

class ModuleTest : public ::testing::Test {
 protected:
  void SetUp() override { sys_ = testing_util::BootSystem(uint64_t{64} << 20); }
  ModuleRegistry& modules() { return sys_->kernel().modules(); }
  // insmod with stderr captured into *message.
  int Insmod(const char* path, std::string* message = nullptr) {
    testing::internal::CaptureStderr();
    Result<void> r = modules().Insmod(path);
    std::string err = testing::internal::GetCapturedStderr();
    if (message != nullptr) *message = err;
    return r.ok() ? 0 : r.error();
  }
  std::unique_ptr<System> sys_;
};

TEST_F(ModuleTest, HeapModuleServesThenUnloadsOnlyAfterItsLastBuffer) {
  ASSERT_EQ(Insmod(TEST_HEAP_MODULE_PATH), 0);
  EXPECT_TRUE(HasHeap(*sys_, "test_heap"));
  EXPECT_TRUE(Mapped(TEST_HEAP_MODULE_PATH));
  const uint64_t free_before = sys_->Stats().free_pages;
  auto fd = sys_->Allocate("test_heap", 3 * 4096 + 1);
  ASSERT_TRUE(fd.ok()) << fd.error();
  EXPECT_EQ(lseek(fd->get(), 0, SEEK_END), 4 * 4096);
  EXPECT_EQ(sys_->SgTable(fd->get())->size(), 4u);
  EXPECT_EQ(sys_->Stats().free_pages, free_before - 4);
  auto map = Mapping::Map(fd->get(), 4096);
  ASSERT_TRUE(map.ok());
  EXPECT_EQ(Mapping::Map(fd->get(), 4096, PROT_READ, MAP_PRIVATE).error(), EINVAL)
      << "the module's mmap op decides";
  map->reset();

  // /proc/modules: one live buffer holds the module.
  const std::string listing = modules().ProcModules();
  EXPECT_NE(listing.find("\ntest_heap_module "), std::string::npos) << listing;
  EXPECT_NE(listing.find(" 1 - Live 0x"), std::string::npos) << listing;
  EXPECT_EQ(modules().Rmmod("test_heap_module").error(), EWOULDBLOCK);
  EXPECT_TRUE(HasHeap(*sys_, "test_heap"));

  fd->reset();
  sys_->Drain();
  EXPECT_EQ(sys_->Stats().free_pages, free_before);
  EXPECT_TRUE(modules().Rmmod("test_heap_module").ok());
  EXPECT_FALSE(HasHeap(*sys_, "test_heap"));
  EXPECT_FALSE(Mapped(TEST_HEAP_MODULE_PATH)) << "unmapped after unload";
  EXPECT_EQ(modules().Rmmod("test_heap_module").error(), ENOENT);
  // And it can come back.
  ASSERT_EQ(Insmod(TEST_HEAP_MODULE_PATH), 0);
  EXPECT_TRUE(sys_->Allocate("test_heap", 4096).ok());
}

// The RFC's subject: the system heap is a module, permanent, and refuses to be removed.
TEST_F(ModuleTest, SystemHeapIsAPermanentModule) {
  const std::string listing = modules().ProcModules();
  EXPECT_EQ(listing.rfind("system_heap ", 0), 0u) << listing;
  EXPECT_NE(listing.find(" 0 [permanent], Live 0x"), std::string::npos) << listing;
  auto fd = sys_->Allocate("system", 4096);
  ASSERT_TRUE(fd.ok());
  EXPECT_NE(modules().ProcModules().find("system_heap 16"), std::string::npos);
  EXPECT_NE(modules().ProcModules().find(" 1 [permanent],"), std::string::npos)
      << "a live buffer holds the module";
  EXPECT_EQ(modules().Rmmod("system_heap").error(), EBUSY);
  EXPECT_TRUE(sys_->Allocate("system", 4096).ok()) << "and the heap keeps serving";
  EXPECT_TRUE(Mapped("system_heap.so"));
  EXPECT_TRUE(modules().Modprobe("system_heap").ok()) << "already loaded: nothing to do";
  auto info = modules().Modinfo("system_heap");
  ASSERT_TRUE(info.ok());
  EXPECT_NE(info->find("license:        GPL v2\n"), std::string::npos) << *info;
  EXPECT_NE(info->find("import_ns:      DMA_BUF_HEAP\n"), std::string::npos) << *info;
  EXPECT_NE(info->find("permanent:      yes\n"), std::string::npos) << *info;
  EXPECT_NE(info->find("/dmaheap/modules/system_heap.so\n"), std::string::npos) << *info;
}

// The same through the public embedded API.
TEST_F(ModuleTest, PublicApiManagesModules) {
  EXPECT_TRUE(sys_->Insmod(TEST_HEAP_MODULE_PATH).ok());
  EXPECT_NE(sys_->Lsmod().find("test_heap_module "), std::string::npos);
  EXPECT_TRUE(sys_->Modprobe("system_heap").ok());
  EXPECT_EQ(sys_->Rmmod("system_heap").error(), EBUSY);
  EXPECT_TRUE(sys_->Modinfo("system_heap").ok());
  EXPECT_TRUE(sys_->Rmmod("test_heap_module").ok());
  EXPECT_EQ(sys_->Lsmod().find("test_heap_module "), std::string::npos);
}

TEST_F(ModuleTest, ModprobeAndModinfoOfUnknownModules) {
  testing::internal::CaptureStderr();
  EXPECT_EQ(modules().Modprobe("no_such_heap").error(), ENOENT);
  EXPECT_EQ(modules().Modinfo("no_such_heap").error(), ENOENT);
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_NE(err.find("modprobe: FATAL: Module no_such_heap not found."), std::string::npos) << err;
  EXPECT_NE(err.find("modinfo: ERROR: Module no_such_heap not found."), std::string::npos) << err;
}

// A System that cannot load a boot module does not boot half-way.
TEST(ModuleBootTest, MissingBootModuleFailsTheBoot) {
  BootOptions options;
  options.ram_bytes = 16 << 20;
  options.modules = {"system_heap", "no_such_heap"};
  testing::internal::CaptureStderr();
  auto sys = System::Boot(options);
  testing::internal::GetCapturedStderr();
  EXPECT_EQ(sys.error(), ENOENT);
  options.modules = {};
  auto bare = System::Boot(options);
  ASSERT_TRUE(bare.ok());
  EXPECT_TRUE((*bare)->HeapNames().empty()) << "no modules, no heaps";
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
  EXPECT_FALSE(HasHeap(*sys_, "failing_heap"));
  EXPECT_FALSE(Mapped(FAILING_MODULE_PATH));
  EXPECT_EQ(modules().ProcModules().find("failing_module"), std::string::npos);
}

TEST_F(ModuleTest, StaticConstructorCannotRegister) {
  std::string message;
  EXPECT_EQ(Insmod(STATIC_CTOR_MODULE_PATH, &message), EINVAL);
  EXPECT_NE(message.find("outside a module's init refused"), std::string::npos) << message;
  EXPECT_FALSE(HasHeap(*sys_, "sneaky_heap"));
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
  EXPECT_EQ(sys_->HeapNames(), std::vector<std::string>{"system"});
  EXPECT_TRUE(sys_->Allocate("system", 4096).ok());
}

}  // namespace
}  // namespace dmaheap
