// DmaBuf: one exported buffer (struct dma_buf) and DmaBufOps, the exporter's per-buffer
// operations (struct dma_buf_ops).
//
// A buffer's memory is a sealed memfd (see BufferTable); its physical identity — the page frames
// and sg table a device would see — is modelled by the heap that exported it and lives in the
// heap's DmaBufOps object. The DmaBuf owns that object: destroying the DmaBuf is the release,
// which hands the frames back to their allocator.
//
// A DmaBuf holds no fd of its own once the core has handed the buffer out (DmaBufFd): its
// lifetime is the lifetime of the memfd inode in whatever processes hold it, observed by the
// BufferTable's inotify watch.
#ifndef DMAHEAP_SRC_DMABUF_DMA_BUF_H
#define DMAHEAP_SRC_DMABUF_DMA_BUF_H

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <vector>

#include "dmaheap/kapi.h"
#include "dmaheap/result.h"
#include "dmaheap/uapi/linux/dma-buf.h"
#include "dmaheap/unique_fd.h"

namespace dmaheap {

class DmaHeap;

// enum dma_data_direction, from the SYNC flags: READ → kFromDevice, WRITE → kToDevice,
// READ|WRITE → kBidirectional.
enum class DmaDirection { kBidirectional = 0, kToDevice = 1, kFromDevice = 2 };

// One sg entry: a modelled DMA address (page frame << 12, never a host address) and a length —
// the kernel API's own struct, so an exporter's table is read where it lies, never copied.
using ScatterEntry = dma_buf_sg_entry;
using SgTable = std::vector<ScatterEntry>;

// A request to map [offset, offset + length) of a buffer (the vma a kernel exporter sees).
struct VmaRequest {
  uint64_t offset;
  uint64_t length;
  int prot;
  int flags;  // MAP_SHARED, MAP_PRIVATE, ...
};

// One device's attachment to a buffer (struct dma_buf_attachment).
struct DmaBufAttachment {
  std::string device;  // the device's name, as bufinfo lists it
  SgTable table;       // the device's view once mapped
  bool mapped = false; // begin/end CPU access sync only mapped attachments (the 5.11 rule)
};

// Who asked for a buffer: credentials of the allocating request.
struct Owner {
  pid_t pid = 0;
  uid_t uid = 0;
  gid_t gid = 0;
};

// struct dma_buf_ops. The heap's private buffer type derives from this and fills in what it
// supports. Every method is called by the core with no core lock held; the DmaBuf is alive for
// the whole call (the caller holds a reference).
class DmaBufOps {
 public:
  DmaBufOps() = default;
  DmaBufOps(const DmaBufOps&) = delete;
  DmaBufOps& operator=(const DmaBufOps&) = delete;

  // Release (dma_buf_ops.release): called by the core once, when the last fd and the last
  // mapping of the buffer are gone in every process. Required: returns the buffer's memory to
  // the allocator it came from.
  virtual ~DmaBufOps() = default;

  // begin_cpu_access / end_cpu_access, called from DMA_BUF_IOCTL_SYNC after the core validated
  // the flags. Optional (default: nothing to do, 0). Errors: whatever the exporter reports;
  // the core passes them to the caller.
  virtual Result<void> BeginCpuAccess(DmaDirection /*dir*/) { return {}; }
  virtual Result<void> EndCpuAccess(DmaDirection /*dir*/) { return {}; }

  // mmap: called before a mapping of the buffer is made, after the core checked that
  // [offset, offset + length) lies inside the buffer. Optional in the table, but a buffer
  // without it cannot be mapped (the core answers EINVAL, as dma_buf_mmap does).
  virtual Result<void> Mmap(const VmaRequest& /*vma*/) { return Errno(EINVAL); }

  // The modelled sg table of the whole buffer (what map_dma_buf returns to an importer once
  // devices are modelled). Optional: empty for an exporter without a physical model.
  // The span stays valid for the buffer's life.
  virtual std::span<const ScatterEntry> sg_table() const { return {}; }

  // attach: called when a device attaches to the buffer, before any map. Optional (default:
  // accept). Errors refuse the attachment (ENOMEM, or EINVAL for a device that cannot reach
  // the buffer).
  virtual Result<void> Attach(DmaBufAttachment& /*attachment*/) { return {}; }
  // detach: called once per successful Attach, after the last unmap. Optional.
  virtual void Detach(DmaBufAttachment& /*attachment*/) {}
  // map_dma_buf: the attachment's device mapping. Optional here (default: the buffer's own sg
  // table, as both kernel heaps hand out a per-attachment copy of it); sets attachment.mapped.
  virtual Result<void> MapDmaBuf(DmaBufAttachment& attachment, DmaDirection /*dir*/) {
    const std::span<const ScatterEntry> table = sg_table();
    attachment.table.assign(table.begin(), table.end());
    attachment.mapped = true;
    return {};
  }
  // unmap_dma_buf: undoes MapDmaBuf. Optional.
  virtual void UnmapDmaBuf(DmaBufAttachment& attachment, DmaDirection /*dir*/) {
    attachment.mapped = false;
  }
  // vmap: a CPU mapping for an in-"kernel" user (refcounted by the core). Optional: without it
  // the core answers EINVAL, as dma_buf_vmap does.
  virtual Result<void*> Vmap() { return Errno(EINVAL); }
  virtual void Vunmap(void* /*vaddr*/) {}
  // Callers of attach/map/vmap arrive with the board device model; until then these slots are
  // the documented contract heaps implement against.
};

// struct dma_buf_export_info.
struct DmaBufExportInfo {
  DmaHeap* heap;                  // the exporting heap; its name is the exp_name
  uint64_t size;                  // page-aligned length
  uint32_t flags;                 // the fd_flags of the request: O_ACCMODE | O_CLOEXEC
  std::unique_ptr<DmaBufOps> ops; // the exporter's buffer; owned by the DmaBuf from now on
};

class DmaBuf {
  // Only BufferTable creates buffers (a passkey, so std::make_shared can reach the constructor).
  struct CreateKey {
    explicit CreateKey() = default;
  };

 public:
  DmaBuf(CreateKey, uint64_t id, DmaBufExportInfo info, Owner owner);
  DmaBuf(const DmaBuf&) = delete;
  DmaBuf& operator=(const DmaBuf&) = delete;
  ~DmaBuf();

  uint64_t id() const { return id_; }
  uint64_t size() const { return size_; }
  // f_flags of the dma-buf file: the access mode (O_NONBLOCK cannot be requested).
  uint32_t f_flags() const { return f_flags_; }
  // The exporting heap's name (heaps outlive their buffers, so no copy is kept).
  const std::string& exp_name() const;
  ino_t ino() const { return ino_; }
  dev_t dev() const { return dev_; }
  DmaHeap* heap() const { return heap_; }
  const Owner& owner() const { return owner_; }
  DmaBufOps& ops() const { return *ops_; }

  std::string name() const;
  // DMA_BUF_SET_NAME: at most 31 characters (validated by the caller).
  void set_name(std::string name);

  uint64_t cpu_access_count() const { return cpu_accesses_.load(std::memory_order_relaxed); }
  void count_cpu_access() { cpu_accesses_.fetch_add(1, std::memory_order_relaxed); }

 private:
  friend class BufferTable;
  friend Result<UniqueFd> DmaBufFd(DmaBuf& buf, uint32_t fd_flags);

  const uint64_t id_;
  const uint64_t size_;
  const uint32_t f_flags_;
  DmaHeap* const heap_;
  const Owner owner_;
  std::unique_ptr<DmaBufOps> ops_;
  ino_t ino_ = 0;       // set once by BufferTable::Export
  dev_t dev_ = 0;       // set once by BufferTable::Export
  int wd_ = -1;         // inotify watch of the memfd inode; set once by BufferTable::Export
  UniqueFd file_;       // the creator's fd until DmaBufFd hands it out; then empty
  // NUL-terminated, "" == no name; guarded by NameLock(this): names change rarely, so buffers
  // share a few striped locks rather than each carrying a 40-byte mutex.
  char name_[DMA_BUF_NAME_LEN] = {};
  std::atomic<uint64_t> cpu_accesses_{0};
};

using DmaBufRef = std::shared_ptr<DmaBuf>;

// dma_buf_fd: the fd the caller receives. Takes the creator's fd out of `buf` (once); for a
// non-O_RDWR request it is reopened with that access mode, so the file's mode is exactly the one
// asked for. O_CLOEXEC as requested. Errors: EMFILE/ENFILE, or EBUSY if the fd was already
// handed out.
Result<UniqueFd> DmaBufFd(DmaBuf& buf, uint32_t fd_flags);

// The kernel's DMA_BUF_IOCTL_SYNC after copy-in: flags outside 0x7 or without READ/WRITE →
// EINVAL; END → end_cpu_access, else begin_cpu_access.
Result<void> DmaBufSync(DmaBuf& buf, uint64_t flags);
// The flag check alone: the direction the flags name, or EINVAL.
Result<DmaDirection> DmaBufSyncFlags(uint64_t flags);

// The core's mmap check (dma_buf_mmap_internal): a mapping that reaches past the end → EINVAL;
// then the exporter's Mmap decides.
Result<void> DmaBufMmapCheck(DmaBuf& buf, const VmaRequest& vma);

}  // namespace dmaheap

#endif  // DMAHEAP_SRC_DMABUF_DMA_BUF_H
