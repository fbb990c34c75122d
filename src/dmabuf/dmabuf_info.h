// Who holds which buffers, from /proc alone (Android's libdmabufinfo): every process's fds and
// mappings of dmaheap buffers (memfds named "dmaheap:<heap>:<id>") and of kernel dma-bufs
// ("/dmabuf:" with exp_name in fdinfo), merged by inode. What `dmaheap dump` prints.
#ifndef DMAHEAP_SRC_DMABUF_DMABUF_INFO_H
#define DMAHEAP_SRC_DMABUF_DMABUF_INFO_H

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace dmaheap {

struct DmaBufferInfo {
  uint64_t inode = 0;
  uint64_t size = 0;          // bytes
  std::string exporter;       // the heap (exp_name)
  std::string name;           // DMA_BUF_SET_NAME's, "" when unknown
  std::map<pid_t, int> fd_refs;   // pid → fds
  std::map<pid_t, int> map_refs;  // pid → mappings (VMAs)

  size_t nr_procs() const;  // processes holding it either way
};

struct DmaBufSnapshot {
  std::vector<DmaBufferInfo> buffers;  // by inode
  std::map<pid_t, std::string> comms;  // every pid holding one
};

// Scans /proc (`procfs`, for tests) — every process, or only `pid` when it is not 0. Processes
// that vanish or cannot be read are skipped.
DmaBufSnapshot ReadProcfsDmaBufs(pid_t pid = 0, const std::string& procfs = "/proc");

// dmabuf_dump's views. `exported` is the total the exporters hold (bufinfo's), 0 when unknown.
std::string FormatDumpPerProcess(const DmaBufSnapshot& snap, uint64_t exported);
std::string FormatDumpTable(const DmaBufSnapshot& snap);  // -a
std::string DumpJson(const DmaBufSnapshot& snap);

}  // namespace dmaheap

#endif  // DMAHEAP_SRC_DMABUF_DMABUF_INFO_H
