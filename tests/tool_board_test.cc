// `dmaheap board` and `dmaheap cma`: their output and their errors, run as programs.

#include <gtest/gtest.h>

#include <string>

#include "board_util.h"
#include "daemon_fixture.h"

namespace dmaheap {
namespace {

using testing_util::BoardDir;
using testing_util::BoardDts;
using testing_util::Daemon;
using testing_util::DaemonAlloc;
using testing_util::ReservedMemoryNode;
using testing_util::RunProgram;

const std::string kTool = DMAHEAP_TOOL_PATH;

TEST(ToolBoardTest, BoardDescribesWhatABoardDeclaresPlaced) {
  std::string out;
  ASSERT_EQ(RunProgram({kTool, "board", "carveout-demo"}, {}, &out), 0) << out;
  EXPECT_NE(out.find("model:      dmaheap carveout demo board\n"), std::string::npos) << out;
  EXPECT_NE(out.find("memory:     0x0000000040000000-0x000000007fffffff (1024 MiB)\n"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("  carveout@60000000        0x0000000060000000-0x0000000063ffffff "
                     "   65536 KiB  no-map,heap\n"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("  reserved                 0x000000007c000000-0x000000007fffffff "
                     "   65536 KiB  cma,default  shared-dma-pool\n"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("modules.load: system_heap cma_heap carveout_heap\n"), std::string::npos)
      << out;
  EXPECT_NE(out.find("log: cma: Reserved 64 MiB at 0x000000007c000000\n"), std::string::npos)
      << out;

  ASSERT_EQ(RunProgram({kTool, "board", "hikey960"}, {}, &out), 0) << out;
  EXPECT_NE(out.find("  /soc/dpe@e8600000            no-iommu dma-mask=0xffffffff non-coherent "
                     "contiguous max-seg=65536 memory-region=linux,cma\n"),
            std::string::npos)
      << out;
}

TEST(ToolBoardTest, BoardErrorsNameTheFileAndTheProblem) {
  std::string out;
  EXPECT_EQ(RunProgram({kTool, "board", "nosuch"}, {{"DMAHEAP_BOARD_PATH", "/nowhere"}}, &out), 1);
  EXPECT_NE(out.find("dmaheap: board nosuch: not found (looked for nosuch.dtb in /nowhere:"),
            std::string::npos)
      << out;
  BoardDir dir;
  const std::string dtb = dir.Write(
      "bad", BoardDts(ReservedMemoryNode("a@50000000 { reg = <0x0 0x50000000 0x0 0x200000>; };\n"
                                         "b@50100000 { reg = <0x0 0x50100000 0x0 0x200000>; };")));
  ASSERT_NE(dtb, "");
  EXPECT_EQ(RunProgram({kTool, "board", dtb}, {}, &out), 1);
  EXPECT_EQ(out, "dmaheap: board " + dtb +
                     ": reserved-memory nodes 'a@50000000' and 'b@50100000' overlap\n");
  EXPECT_EQ(RunProgram({kTool, "board", "/etc/hostname"}, {}, &out), 1);
  EXPECT_NE(out.find("dmaheap: board /etc/hostname: "), std::string::npos) << out;
}

TEST(ToolBoardTest, CmaShowsABootedBoardOrTheDaemonsAreas) {
  std::string out;
  ASSERT_EQ(RunProgram({kTool, "cma", "--board", "hikey960"}, {}, &out), 0) << out;
  EXPECT_EQ(out,
            "linux,cma/base_pfn: 753664\n"
            "linux,cma/count: 32768\n"
            "linux,cma/order_per_bit: 0\n"
            "linux,cma/used: 0\n"
            "linux,cma/maxchunk: 32768\n"
            "linux,cma/map: [" + std::string(64, '.') + "] 512 pages a cell\n");
  ASSERT_EQ(RunProgram({kTool, "cma", "--board", "hikey960", "--bitmap", "--json"}, {}, &out), 0);
  EXPECT_NE(out.find("\"maxchunk\": 32768, \"map\": \"" + std::string(64, '.') +
                     "\", \"bitmap\": [0, 0, "),
            std::string::npos)
      << out;
  EXPECT_NE(out.find(", 0]}]}\n"), std::string::npos) << out;
  ASSERT_EQ(RunProgram({kTool, "cma", "--board", "db845c"}, {}, &out), 0) << out;
  EXPECT_EQ(out, "") << "no CMA area on db845c";

  Daemon d;
  ASSERT_TRUE(d.ready());
  auto sock = ConnectSocket(d.dir() + "/default_cma_region");
  ASSERT_TRUE(sock.ok());
  auto held = DaemonAlloc(sock->get(), uint64_t{32} << 20);  // the first quarter of the area
  ASSERT_TRUE(held.ok());
  ASSERT_EQ(RunProgram({kTool, "cma"}, d.Env(), &out), 0) << out;
  EXPECT_NE(out.find("linux,cma/used: 8192\n"), std::string::npos) << out;
  EXPECT_NE(out.find("linux,cma/map: [" + std::string(16, '#') + std::string(48, '.') + "]"),
            std::string::npos)
      << out;

  ASSERT_EQ(RunProgram({kTool, "cma", "--bitmap"}, d.Env(), &out), 0) << out;
  EXPECT_NE(out.find("linux,cma/bitmap: 4294967295 "), std::string::npos) << out;
  EXPECT_NE(out.find(" 4294967295 0 "), std::string::npos) << "256 full words, then free";

  // No daemon to ask: the board named, freshly booted, with a note saying so.
  d.Stop();
  ASSERT_EQ(RunProgram({kTool, "cma"}, d.Env(), &out), 0) << out;
  EXPECT_NE(out.find("dmaheap cma: no daemon running ("), std::string::npos) << out;
  EXPECT_NE(out.find("); showing board 'default' booted here"), std::string::npos) << out;
  EXPECT_NE(out.find("linux,cma/used: 0\n"), std::string::npos) << out;
}

}  // namespace
}  // namespace dmaheap

namespace dmaheap {
namespace {

// The showcases, as a person types them: a board booted in the tool.
TEST(ToolBoardDevicesTest, AttachPrintsSegmentsOrTheKernelsErrno) {
  std::string out;
  EXPECT_EQ(RunProgram({kTool, "attach", "--board", "hikey960", "--heap", "system", "--device",
                        "dpe@e8600000", "8M"},
                       {}, &out),
            1);
  EXPECT_EQ(out,
            "EINVAL: dpe@e8600000 has no IOMMU and its driver imports only DMA-contiguous buffers "
            "(GEM DMA helpers): a system buffer maps as scattered pages\n");
  ASSERT_EQ(RunProgram({kTool, "attach", "--board", "hikey960", "--heap", "default_cma_region",
                        "--device", "dpe@e8600000", "8M"},
                       {}, &out),
            0)
      << out;
  // The default CMA region is placed top-down below 4 GiB ending at RAM's end (0xc0000000);
  // the first 8 MiB buffer is the area's lowest aligned range.
  EXPECT_EQ(out, "0xb8000000 8388608\n");
  ASSERT_EQ(RunProgram({kTool, "attach", "--board", "db845c", "--heap", "system", "--device",
                        "video-codec@aa00000", "--dir", "to-device", "8M"},
                       {}, &out),
            0)
      << out;
  EXPECT_EQ(out, "0xdf800000 8388608\n");
  EXPECT_EQ(RunProgram({kTool, "attach", "--board", "db845c", "--heap", "system", "--device",
                        "gpu", "4K"},
                       {}, &out),
            1);
  EXPECT_EQ(out, "ENODEV: no device 'gpu' (devices: display-subsystem@ae00000 "
                 "video-codec@aa00000)\n");
  EXPECT_EQ(RunProgram({kTool, "attach", "--heap", "system", "--device", "x", "--dir", "up", "4K"},
                       {}, &out),
            2)
      << "usage: " << out;
}

TEST(ToolBoardDevicesTest, AllocForSaysWhichHeapAndWhy) {
  std::string out;
  ASSERT_EQ(RunProgram({kTool, "alloc", "--board", "hikey960", "--for", "dpe@e8600000", "8M"},
                       {}, &out),
            0)
      << out;
  EXPECT_EQ(out.rfind("heap: default_cma_region\n", 0), 0u) << out;
  EXPECT_NE(out.find("dpe@e8600000 has no IOMMU and imports only DMA-contiguous buffers (GEM "
                     "DMA helpers); system buffers are scattered pages"),
            std::string::npos)
      << out;
  ASSERT_EQ(RunProgram({kTool, "alloc", "--board", "db845c", "--for",
                        "display-subsystem@ae00000,video-codec@aa00000", "8M"},
                       {}, &out),
            0)
      << out;
  EXPECT_EQ(out.rfind("heap: system\nsystem: every device maps its buffers", 0), 0u) << out;
  EXPECT_EQ(RunProgram({kTool, "alloc", "--board", "db845c", "--for", "nosuch", "8M"}, {}, &out), 1);
  EXPECT_EQ(out, "ENODEV: no device 'nosuch' (devices: display-subsystem@ae00000 "
                 "video-codec@aa00000)\n");
  EXPECT_EQ(RunProgram({kTool, "alloc", "--board", "db845c", "system", "8M"}, {}, &out), 2);
}

TEST(ToolBoardDevicesTest, DevicesAsTextAndJson) {
  std::string out;
  ASSERT_EQ(RunProgram({kTool, "devices", "--board", "db845c"}, {}, &out), 0) << out;
  EXPECT_NE(out.find("video-codec@aa00000\n  iommu:        iommu@15000000, 32-bit IOVA space "
                     "(one range per mapping)\n  dma limit:    0xdfffffff\n"),
            std::string::npos)
      << out;
  ASSERT_EQ(RunProgram({kTool, "devices", "--board", "hikey960", "--json"}, {}, &out), 0) << out;
  EXPECT_EQ(out.rfind("[\n  {\"name\": \"dpe@e8600000\", \"iommu\": null, \"iova_bits\": 0, "
                      "\"dma_limit\": 4294967295, \"dma_offset\": 0, \"coherent\": false, "
                      "\"contiguous\": true, ",
                      0),
            0u)
      << out;
  EXPECT_EQ(out.substr(out.size() - 5), "}}\n]\n") << "one object, closed" << out;
  ASSERT_EQ(RunProgram({kTool, "board", "db845c"}, {}, &out), 0) << out;
  EXPECT_NE(out.find("  /soc/video-codec@aa00000     iommu=iommu@15000000 iova=32-bit "
                     "dma-mask=0xdfffffff non-coherent max-seg=4294967295 "
                     "memory-region=venus@95800000\n"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("log: software IO TLB: mapped [mem 0x00000000fc000000-0x00000000ffffffff] "
                     "(64MB)\n"),
            std::string::npos)
      << out;
}

}  // namespace
}  // namespace dmaheap
