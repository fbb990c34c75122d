#include "dmabuf/dmabuf_info.h"

#include <sys/mman.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <string>

#include "dmabuf/test_exporter.h"

namespace dmaheap {
namespace {

// Two buffers: A held by pid 10 (fd) and 20 (map only), B by pid 20 (two fds).
DmaBufSnapshot Sample() {
  DmaBufSnapshot snap;
  DmaBufferInfo a;
  a.inode = 111;
  a.size = 2 << 20;
  a.exporter = "linux,cma";
  a.name = "frame-0";
  a.fd_refs[10] = 1;
  a.map_refs[20] = 1;
  DmaBufferInfo b;
  b.inode = 222;
  b.size = 64 << 10;
  b.exporter = "system";
  b.fd_refs[20] = 2;
  snap.buffers = {a, b};
  snap.comms = {{10, "camera"}, {20, "display"}};
  return snap;
}

TEST(DmaBufInfoTest, PerProcessViewAsDmabufDumpPrintsIt) {
  EXPECT_EQ(FormatDumpPerProcess(Sample(), 0),
            "          camera:10   \n"
            "                  Name              Rss              Pss         nr_procs            Inode\n"
            "               frame-0          2048 kB          1024 kB                2              111\n"
            "         PROCESS TOTAL          2048 kB          1024 kB                 \n"
            "----------------------\n"
            "         display:20   \n"
            "                  Name              Rss              Pss         nr_procs            Inode\n"
            "               frame-0          2048 kB          1024 kB                2              111\n"
            "             <unknown>            64 kB            64 kB                1              222\n"
            "         PROCESS TOTAL          2112 kB          1088 kB                 \n"
            "----------------------\n"
            "dmabuf total: 2112 kB kernel_rss: 0 kB userspace_rss: 2112 kB userspace_pss: 2112 kB\n");
  // Exported buffers nobody in user space holds count as the kernel's.
  const std::string with_kernel = FormatDumpPerProcess(Sample(), 3 << 20);
  EXPECT_NE(with_kernel.find("dmabuf total: 3072 kB kernel_rss: 960 kB userspace_rss: 2112 kB"),
            std::string::npos)
      << with_kernel;
  EXPECT_EQ(FormatDumpPerProcess(DmaBufSnapshot{}, 0),
            "dmabuf info not found \u00af\\_(\u30c4)_/\u00af\n");
}

TEST(DmaBufInfoTest, TableAndJson) {
  const std::string table = FormatDumpTable(Sample());
  EXPECT_NE(table.find("             111 |         2048 kB |               1 |               1 |"
                       "        1(     0) refs |        0(     1) refs |\n"),
            std::string::npos)
      << table;
  EXPECT_NE(table.find("             222 |           64 kB |               1 |               0 |"
                       "                    -- |        2(     0) refs |\n"),
            std::string::npos)
      << table;
  EXPECT_NE(table.find("2048 kB |               2112 kB |\n"), std::string::npos) << table;
  EXPECT_EQ(DumpJson(Sample()),
            "{\"buffers\": [{\"inode\": 111, \"size\": 2097152, \"exporter\": \"linux,cma\", "
            "\"name\": \"frame-0\", \"fd_refs\": {\"10\": 1}, \"map_refs\": {\"20\": 1}}, "
            "{\"inode\": 222, \"size\": 65536, \"exporter\": \"system\", \"name\": \"\", "
            "\"fd_refs\": {\"20\": 2}, \"map_refs\": {}}], \"processes\": [{\"pid\": 10, "
            "\"comm\": \"camera\"}, {\"pid\": 20, \"comm\": \"display\"}]}\n");
}

TEST(DmaBufInfoTest, ReadsThisProcessFdsAndMaps) {
  testing_util::TestBuffers buffers("system");
  UniqueFd held = buffers.Alloc(8192);
  UniqueFd mapped_only = buffers.Alloc(4096);
  ASSERT_TRUE(held.valid() && mapped_only.valid());
  void* p = mmap(nullptr, 4096, PROT_READ, MAP_SHARED, mapped_only.get(), 0);
  ASSERT_NE(p, MAP_FAILED);
  struct stat st {};
  ASSERT_EQ(fstat(mapped_only.get(), &st), 0);
  mapped_only.reset();
  struct stat held_st {};
  ASSERT_EQ(fstat(held.get(), &held_st), 0);

  DmaBufSnapshot snap = ReadProcfsDmaBufs(getpid());
  ASSERT_EQ(snap.buffers.size(), 2u);
  ASSERT_EQ(snap.comms.size(), 1u);
  EXPECT_EQ(snap.comms.begin()->first, getpid());
  for (const DmaBufferInfo& b : snap.buffers) {
    EXPECT_EQ(b.exporter, "system");
    if (b.inode == held_st.st_ino) {
      EXPECT_EQ(b.size, 8192u);
      EXPECT_EQ(b.fd_refs.at(getpid()), 1);
      EXPECT_TRUE(b.map_refs.empty());
    } else {
      EXPECT_EQ(b.inode, st.st_ino);
      EXPECT_EQ(b.size, 4096u) << "from the mapping's length";
      EXPECT_TRUE(b.fd_refs.empty());
      EXPECT_EQ(b.map_refs.at(getpid()), 1);
    }
  }
  munmap(p, 4096);
}

}  // namespace
}  // namespace dmaheap
