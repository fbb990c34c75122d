// The loader's pre-mapping check on modules the suite builds: each refusal with the kernel's
// errno and message (kernel-facts.md §8).

#include "module/export_table.h"

#include <gtest/gtest.h>

#include <string>

#include "dmaheap/vermagic.h"

namespace dmaheap {
namespace {

// The core API a heap module links against, as the 2019 RFC and the 2025 TEE series export it.
ExportTable CoreTable() {
  ExportTable t;
  t.Add({"dma_heap_add", ExportClass::kGplOnly, "DMA_BUF_HEAP"});
  t.Add({"dma_heap_get_drvdata", ExportClass::kGplOnly, "DMA_BUF_HEAP"});
  return t;
}

struct Outcome {
  int err;
  std::string message;
};

Outcome Check(const char* path, const ExportTable& table) {
  auto image = ReadModuleImage(path);
  EXPECT_TRUE(image.ok()) << path;
  if (!image.ok()) return {image.error(), ""};
  testing::internal::CaptureStderr();
  Result<void> r = CheckModule(*image, table, DMAHEAP_VERMAGIC);
  return {r.ok() ? 0 : r.error(), testing::internal::GetCapturedStderr()};
}

TEST(ExportTableTest, WellFormedGplModuleImportingTheNamespacePasses) {
  Outcome o = Check(GOOD_MODULE_PATH, CoreTable());
  EXPECT_EQ(o.err, 0) << o.message;
  EXPECT_EQ(o.message, "");
}

TEST(ExportTableTest, UnknownSymbolIsEnoent) {
  Outcome o = Check(GOOD_MODULE_PATH, ExportTable());
  EXPECT_EQ(o.err, ENOENT);
  EXPECT_EQ(o.message, "good_heap: Unknown symbol dma_heap_add (err -2)\n");
}

TEST(ExportTableTest, GplOnlySymbolFromANonGplModuleIsAnUnknownSymbol) {
  Outcome o = Check(PROPRIETARY_MODULE_PATH, CoreTable());
  EXPECT_EQ(o.err, ENOENT);
  EXPECT_EQ(o.message, "proprietary_heap: Unknown symbol dma_heap_add (err -2)\n");
  // The same symbol exported plainly is fine for it.
  ExportTable plain;
  plain.Add({"dma_heap_add", ExportClass::kPlain, "DMA_BUF_HEAP"});
  EXPECT_EQ(Check(PROPRIETARY_MODULE_PATH, plain).err, 0);
}

TEST(ExportTableTest, MissingNamespaceImportIsEinval) {
  Outcome o = Check(NO_IMPORT_MODULE_PATH, CoreTable());
  EXPECT_EQ(o.err, EINVAL);
  EXPECT_EQ(o.message,
            "no_import_heap: module uses symbol (dma_heap_add) from namespace DMA_BUF_HEAP, "
            "but does not import it.\n");
}

TEST(ExportTableTest, VermagicMismatchNamesBothStrings) {
  Outcome o = Check(WRONG_VERMAGIC_MODULE_PATH, CoreTable());
  EXPECT_EQ(o.err, ENOEXEC);
  EXPECT_EQ(o.message, std::string("wrong_vermagic_heap: version magic '0.0.0 bogus' should be '") +
                           DMAHEAP_VERMAGIC + "'\n");
}

TEST(ExportTableTest, GplCompatibleLicensesAreTheKernelsList) {
  for (const char* l : {"GPL", "GPL v2", "GPL and additional rights", "Dual BSD/GPL",
                        "Dual MIT/GPL", "Dual MPL/GPL"}) {
    EXPECT_TRUE(LicenseIsGplCompatible(l)) << l;
  }
  for (const char* l : {"Proprietary", "", "gpl", "MIT", "BSD"}) {
    EXPECT_FALSE(LicenseIsGplCompatible(l)) << l;
  }
}

}  // namespace
}  // namespace dmaheap
