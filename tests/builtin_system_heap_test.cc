// DMAHEAP_SYSTEM_HEAP=y in one extra target instead of a second configuration: the system heap
// source compiled into this binary as a built-in module (DMAHEAP_BUILTIN), initialised the way
// the core initialises built-in heaps. As in Linux, a built-in heap is not in lsmod, and
// modprobe/modinfo know it as built in.

#include <gtest/gtest.h>

#include "system/system_core.h"
#include "dmaheap/dmaheap.h"
#include "system/builtin_heaps.h"

namespace dmaheap {
namespace {

TEST(BuiltinSystemHeapTest, BuiltInHeapServesButIsNoLoadedModule) {
  BootOptions options;
  options.ram_bytes = 16 << 20;
  options.modules = {};
  auto sys = std::move(System::Boot(options)).value();
  ModuleRegistry& modules = sys->core().modules();
  ASSERT_TRUE(modules.InitBuiltin("system_heap", system_heap_init).ok());
  EXPECT_EQ(sys->HeapNames(), (std::vector<std::string>{"system", "system-uncached"}));
  auto fd = sys->Allocate("system", (1 << 20) + 4096);
  ASSERT_TRUE(fd.ok());
  EXPECT_EQ(sys->SgTable(fd->get())->size(), 2u);
  EXPECT_EQ(modules.ProcModules(), "") << "lsmod lists no built-in module";
  EXPECT_TRUE(modules.Modprobe("system_heap").ok()) << "modprobe of a built-in: nothing to do";
  auto info = modules.Modinfo("system_heap");
  ASSERT_TRUE(info.ok());
  EXPECT_EQ(*info, "name:           system_heap\nfilename:       (builtin)\n");
  EXPECT_EQ(modules.Rmmod("system_heap").error(), ENOENT);
  EXPECT_TRUE(sys->Allocate("system", 4096).ok());
}

}  // namespace
}  // namespace dmaheap
