// The module reader on modules the test suite builds (tests/modules/), and on files that are not
// modules at all.

#include "module/module_elf.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <string>

#include "dmaheap/vermagic.h"

namespace dmaheap {
namespace {

const UndefinedSymbol* FindUndefined(const ModuleImage& m, const std::string& name) {
  auto it = std::find_if(m.undefined.begin(), m.undefined.end(),
                         [&](const UndefinedSymbol& u) { return u.name == name; });
  return it == m.undefined.end() ? nullptr : &*it;
}

TEST(ModuleElfTest, ReadsModinfoDescriptorAndUndefinedSymbols) {
  auto m = ReadModuleImage(GOOD_MODULE_PATH);
  ASSERT_TRUE(m.ok()) << m.error();
  EXPECT_EQ(m->name, "good_heap");
  EXPECT_EQ(m->init, "good_init");
  EXPECT_EQ(m->exit, "good_exit");
  EXPECT_FALSE(m->permanent());
  EXPECT_EQ(m->Get("license"), "GPL");
  EXPECT_EQ(m->Get("description"), "reader test module");
  EXPECT_EQ(m->Get("author"), "dmaheap tests");
  EXPECT_EQ(m->Get("name"), "good_heap");
  EXPECT_EQ(m->Get("vermagic"), DMAHEAP_VERMAGIC);
  std::vector<std::string> ns = m->GetAll("import_ns");
  std::sort(ns.begin(), ns.end());  // the compiler chooses the order of the entries
  EXPECT_EQ(ns, (std::vector<std::string>{"DMA_BUF", "DMA_BUF_HEAP"}));
  EXPECT_EQ(m->Get("nope"), "");
  EXPECT_GT(m->load_size, 0u);

  const UndefinedSymbol* core = FindUndefined(*m, "dma_heap_add");
  ASSERT_NE(core, nullptr);
  EXPECT_FALSE(core->weak);
  EXPECT_FALSE(core->versioned) << "a core symbol carries no version requirement";
  const UndefinedSymbol* hook = FindUndefined(*m, "dmaheap_optional_hook");
  ASSERT_NE(hook, nullptr);
  EXPECT_TRUE(hook->weak);
  // The module's own functions are defined, not undefined.
  EXPECT_EQ(FindUndefined(*m, "good_init"), nullptr);
  // libc's symbols are versioned (GLIBC_2.2.5): ld.so binds them, the loader's check skips them.
  const UndefinedSymbol* libc = FindUndefined(*m, "getenv");
  ASSERT_NE(libc, nullptr);
  EXPECT_TRUE(libc->versioned);
}

TEST(ModuleElfTest, NoExitMeansPermanent) {
  auto m = ReadModuleImage(PERMANENT_MODULE_PATH);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->init, "permanent_init");
  EXPECT_TRUE(m->permanent());
  EXPECT_EQ(m->Get("license"), "GPL v2");
}

TEST(ModuleElfTest, MalformedInputsAreRefusedWithAMessage) {
  struct Row {
    std::string path;
    int err;
    std::string message;
  } const rows[] = {
      {TRUNCATED_MODULE_PATH, EINVAL, "truncated"},
      {BAD_ENTRY_MODULE_PATH, EINVAL, "is not key=value"},
      {NOT_A_MODULE_PATH, EINVAL, "no module descriptor"},
      {"/nonexistent/module.so", ENOENT, "No such file"},
  };
  for (const Row& row : rows) {
    SCOPED_TRACE(row.path);
    testing::internal::CaptureStderr();
    auto m = ReadModuleImage(row.path);
    const std::string err = testing::internal::GetCapturedStderr();
    ASSERT_FALSE(m.ok());
    EXPECT_EQ(m.error(), row.err);
    EXPECT_NE(err.find(row.path), std::string::npos) << err;
    EXPECT_NE(err.find(row.message), std::string::npos) << err;
  }
}

TEST(ModuleElfTest, NonElfAndForeignElfAreNotModules) {
  const std::string text = ::testing::TempDir() + "/not-elf.so";
  std::ofstream(text) << "this is not an ELF file\n";
  testing::internal::CaptureStderr();
  auto m = ReadModuleImage(text);
  std::string err = testing::internal::GetCapturedStderr();
  EXPECT_EQ(m.error(), ENOEXEC);
  EXPECT_NE(err.find("not an ELF file"), std::string::npos) << err;
  // A PIE executable (this test binary) is ET_DYN like a module, but carries no descriptor.
  testing::internal::CaptureStderr();
  m = ReadModuleImage("/proc/self/exe");
  err = testing::internal::GetCapturedStderr();
  EXPECT_EQ(m.error(), EINVAL);
  EXPECT_NE(err.find("no module descriptor"), std::string::npos) << err;
  // A truncated ELF: the first 100 bytes of a module.
  const std::string cut = ::testing::TempDir() + "/cut.so";
  {
    std::ifstream in(GOOD_MODULE_PATH, std::ios::binary);
    std::string head(100, '\0');
    in.read(head.data(), 100);
    std::ofstream(cut, std::ios::binary) << head;
  }
  testing::internal::CaptureStderr();
  m = ReadModuleImage(cut);
  err = testing::internal::GetCapturedStderr();
  EXPECT_FALSE(m.ok());
  EXPECT_NE(err.find(cut), std::string::npos) << err;
}

}  // namespace
}  // namespace dmaheap
