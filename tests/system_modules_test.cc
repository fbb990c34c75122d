// Modules through the public embedded API: a booted System's kmod-style calls, and a System
// that cannot load a boot module does not boot half-way.

#include <gtest/gtest.h>

#include <string>

#include "dmaheap/dmaheap.h"
#include "test_util.h"

namespace dmaheap {
namespace {

TEST(SystemModulesTest, PublicApiManagesModules) {
  std::unique_ptr<System> sys = testing_util::BootSystem(uint64_t{64} << 20);
  EXPECT_TRUE(sys->Insmod(TEST_HEAP_MODULE_PATH).ok());
  EXPECT_NE(sys->Lsmod().find("test_heap_module "), std::string::npos);
  auto fd = sys->Allocate("test_heap", 4096);
  ASSERT_TRUE(fd.ok());
  EXPECT_EQ(sys->SgTable(fd->get())->size(), 1u);
  EXPECT_EQ(sys->Rmmod("test_heap_module").error(), EWOULDBLOCK);
  fd->reset();
  EXPECT_TRUE(sys->Modprobe("system_heap").ok());
  EXPECT_EQ(sys->Rmmod("system_heap").error(), EBUSY);
  EXPECT_TRUE(sys->Modinfo("system_heap").ok());
  EXPECT_TRUE(sys->Rmmod("test_heap_module").ok());
  EXPECT_EQ(sys->Lsmod().find("test_heap_module "), std::string::npos);
  EXPECT_EQ(sys->FindHeap("test_heap").error(), ENOENT);
}

TEST(SystemModulesTest, MissingBootModuleFailsTheBoot) {
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

}  // namespace
}  // namespace dmaheap
