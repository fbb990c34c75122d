// The core's export table, as the kernel API's EXPORT_SYMBOL entries make it: what modules can
// bind to, with the RFC's classes — and the same names the build exports dynamically
// (src/kapi/kapi.syms), so a symbol can be neither exported without its class nor classed but
// unreachable.

#include "kapi/ksymtab.h"

#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <string>

namespace dmaheap {
namespace {

// The core's own table: what modules can bind to, with the RFC's classes.
TEST(CoreExportTableTest, MemoryExportsHaveTheKernelsClasses) {
  const ExportTable table = CoreExportTable();
  for (const char* gpl : {"cma_alloc", "cma_release", "cma_get_name", "cma_get_size",
                          "cma_for_each_area", "cma_get_flags", "dev_get_cma_area",
                          "reserved_mem_for_each", "alloc_pages", "__free_pages"}) {
    const KernelSymbol* sym = table.Find(gpl);
    ASSERT_NE(sym, nullptr) << gpl;
    EXPECT_EQ(sym->cls, ExportClass::kGplOnly) << gpl;
    EXPECT_EQ(sym->ns, "") << gpl;
  }
  for (const char* plain : {"gen_pool_create", "gen_pool_add", "gen_pool_alloc", "gen_pool_free",
                            "gen_pool_avail", "gen_pool_size", "gen_pool_destroy"}) {
    const KernelSymbol* sym = table.Find(plain);
    ASSERT_NE(sym, nullptr) << plain;
    EXPECT_EQ(sym->cls, ExportClass::kPlain) << plain << ": EXPORT_SYMBOL, as lib/genalloc.c";
  }
  EXPECT_EQ(table.Find("dma_heap_add")->ns, "DMA_BUF_HEAP");
}

TEST(CoreExportTableTest, EveryExportIsInTheDynamicSymbolListAndBack) {
  std::set<std::string> listed;
  std::ifstream in(KAPI_SYMS_PATH);
  ASSERT_TRUE(in) << KAPI_SYMS_PATH;
  for (std::string line; std::getline(in, line);) {
    if (!line.empty() && line[0] != '#') listed.insert(line);
  }
  std::set<std::string> exported;
  const ExportTable table = CoreExportTable();
  for (const KernelSymbol& sym : table.symbols()) {
    EXPECT_TRUE(exported.insert(sym.name).second) << sym.name << " exported twice";
  }
  EXPECT_EQ(exported, listed);
}

}  // namespace
}  // namespace dmaheap
