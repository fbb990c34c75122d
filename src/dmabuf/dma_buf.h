// DmaBuf: one exported buffer (struct dma_buf), DmaBufOps, the exporter's per-buffer operations
// (struct dma_buf_ops), and the importer calls of drivers/dma-buf/dma-buf.c (attach, map, unmap,
// detach).
//
// As in Linux, the dma-buf core knows no heap: a buffer is given an exporter (its exp_name, and
// the owner that every live buffer pins — DmaBufExporter) and an ops object. A buffer's memory
// is a sealed memfd (see BufferTable); its physical identity — the page frames and sg table a
// device would see — is modelled by the exporter and lives in its DmaBufOps object. The DmaBuf
// owns that object: destroying the DmaBuf is the release, which hands the frames back to their
// allocator.
//
// A DmaBuf holds no fd of its own once the core has handed the buffer out (BufferTable::Install):
// its lifetime is the lifetime of the memfd inode in whatever processes hold it, observed by the
// BufferTable's inotify watch.
#ifndef DMAHEAP_SRC_DMABUF_DMA_BUF_H
#define DMAHEAP_SRC_DMABUF_DMA_BUF_H

#include <sys/types.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "dma/dma_device.h"
#include "dma/dma_types.h"
#include "dmabuf/dma_buf_rules.h"
#include "dmaheap/result.h"
#include "dmaheap/uapi/linux/dma-buf.h"
#include "dmaheap/unique_fd.h"

namespace dmaheap {

// A request to map [offset, offset + length) of a buffer (the vma a kernel exporter sees).
struct VmaRequest {
  uint64_t offset;
  uint64_t length;
  int prot;
  int flags;  // MAP_SHARED, MAP_PRIVATE, ...
};

// One device's attachment to a buffer (struct dma_buf_attachment). Created by DmaBufAttach,
// owned by the buffer until DmaBufDetach — or until the buffer is released, which unmaps and
// detaches what is left.
struct DmaBufAttachment {
  DmaDevice* dev = nullptr;       // the importing device (outlives the attachment)
  std::string device;             // its name, as bufinfo lists it
  DmaStats* buffer_stats = nullptr;  // the buffer's DMA counters, for the exporter's DMA calls
  void* exporter_priv = nullptr;  // the exporter's, set by its Attach
  // The device's view once mapped (DmaBufMapAttachment): the exporter's sg table as that device
  // addresses it. Empty while unmapped.
  SgTable table;
  DmaMapping mapping;   // the default MapDmaBuf's mapping (dma_map_sgtable of the buffer's table)
  bool mapped = false;  // begin/end CPU access sync only mapped attachments (the 5.11 rule)
};

// Who asked for a buffer: credentials of the allocating request.
struct Owner {
  pid_t pid = 0;
  uid_t uid = 0;
  gid_t gid = 0;
  // The requester's cgroup path (/proc/PID/cgroup), interned: it lives as long as the process.
  // Null when unknown (embedded callers, a process gone before it was read).
  const std::string* cgroup = nullptr;
};

// struct dma_buf_ops: the exporter's buffer. The exporter's private buffer type derives from
// this and overrides what it supports. Every method is called by the dma-buf core with no core
// lock held and the buffer alive for the whole call. Methods of one buffer may run concurrently
// on several threads (SYNC from two processes at once, two importers attaching), so an exporter
// that keeps mutable per-buffer state locks it itself; the calls on one attachment come from its
// one importer, in order (attach, map, unmap, detach).
class DmaBufOps {
 public:
  DmaBufOps() = default;
  DmaBufOps(const DmaBufOps&) = delete;
  DmaBufOps& operator=(const DmaBufOps&) = delete;

  // release: called by the core once, when the last fd and the last mapping of the buffer are
  // gone in every process (or when an export is abandoned before any fd left the core).
  // Required: returns the buffer's memory to the allocator it came from.
  virtual ~DmaBufOps() = default;

  // The modelled sg table of the whole buffer, what attach copies for an importer. Optional:
  // empty for an exporter without a physical model. The span stays valid for the buffer's life.
  virtual std::span<const ScatterEntry> sg_table() const { return {}; }

  // mmap: called before a mapping of the buffer is made, after the core checked that
  // [offset, offset + length) lies inside the buffer. Optional, but a buffer without it cannot be
  // mapped: the default answers EINVAL, as dma_buf_mmap does for an exporter without mmap.
  virtual Result<void> Mmap(const VmaRequest& /*vma*/) { return Errno(EINVAL); }

  // begin_cpu_access / end_cpu_access: called from DMA_BUF_IOCTL_SYNC after the core validated
  // the flags. Optional (default: nothing to sync). Errors reach the caller of the ioctl.
  virtual Result<void> BeginCpuAccess(DmaDirection /*dir*/) { return {}; }
  virtual Result<void> EndCpuAccess(DmaDirection /*dir*/) { return {}; }

  // attach: a device attaches, before any map. Optional (default: accept). Errors refuse the
  // attachment (ENOMEM; EINVAL for a device that cannot reach the buffer).
  virtual Result<void> Attach(DmaBufAttachment& /*attachment*/) { return {}; }
  // detach: once per successful Attach, after its last unmap. Optional.
  virtual void Detach(DmaBufAttachment& /*attachment*/) {}
  // map_dma_buf: fills attachment.table with the device's view. Optional: the default maps the
  // buffer's own sg table for the device (dma_map_sgtable), as both kernel heaps map each
  // attachment's copy of theirs.
  virtual Result<void> MapDmaBuf(DmaBufAttachment& attachment, DmaDirection dir);
  // unmap_dma_buf: undoes MapDmaBuf. Optional (default: unmaps the default's mapping).
  virtual void UnmapDmaBuf(DmaBufAttachment& attachment, DmaDirection dir);
};

// The exporter of a buffer (struct dma_buf_export_info's exp_name and owner), as the dma-buf
// core sees it: a name, and a reference that each live buffer holds (try_module_get at export,
// module_put at release). Implemented by the heap layer. Both calls may run on any thread.
class DmaBufExporter {
 public:
  virtual const std::string& exp_name() const = 0;
  virtual void BufferExported(uint64_t size) = 0;
  virtual void BufferReleased(uint64_t size) = 0;

 protected:
  ~DmaBufExporter() = default;
};

// struct dma_buf_export_info.
struct DmaBufExportInfo {
  DmaBufExporter* exporter;        // required; outlives the buffer (it holds a reference)
  uint64_t size;                   // page-aligned length
  uint32_t flags;                  // the fd_flags of the request: O_ACCMODE | O_CLOEXEC
  std::unique_ptr<DmaBufOps> ops;  // required; owned by the DmaBuf from now on
};

class DmaBuf {
  // Only BufferTable creates buffers (a passkey, so std::make_shared can reach the constructor).
  struct CreateKey {
    explicit CreateKey() = default;
  };
  struct Attachments;

 public:
  DmaBuf(CreateKey, uint64_t id, DmaBufExportInfo info);
  DmaBuf(const DmaBuf&) = delete;
  DmaBuf& operator=(const DmaBuf&) = delete;
  ~DmaBuf();

  uint64_t id() const { return id_; }
  uint64_t size() const { return size_; }
  // f_flags of the dma-buf file: the access mode (O_NONBLOCK cannot be requested).
  uint32_t f_flags() const { return f_flags_; }
  const std::string& exp_name() const { return exporter_->exp_name(); }
  DmaBufExporter* exporter() const { return exporter_; }
  ino_t ino() const { return ino_; }
  dev_t dev() const { return dev_; }
  // Set once when the buffer is installed (BufferTable::Install), before anyone can look it up.
  const Owner& owner() const { return owner_; }
  DmaBufOps& ops() const { return *ops_; }

  std::string name() const;
  // DMA_BUF_SET_NAME: at most DMA_BUF_NAME_LEN - 1 characters (validated by the caller).
  void set_name(std::string_view name);

  // The devices attached, in attach order (bufinfo's "Attached Devices").
  std::vector<std::string> attached_devices() const;
  // Whether a device has an attachment mapped (then begin/end CPU access has work to do).
  bool has_mapped_attachments() const;
  // What the DMA API did for this buffer's attachments (maps, syncs, bytes synced, bounces).
  DmaStats& dma_stats() { return dma_stats_; }

  uint64_t cpu_access_count() const { return cpu_accesses_.load(std::memory_order_relaxed); }

  // DMA_BUF_IOCTL_SYNC after the flags were validated: begin_cpu_access, or end_cpu_access when
  // `end`; counted.
  Result<void> CpuAccess(DmaDirection dir, bool end);

 private:
  friend class BufferTable;
  friend Result<DmaBufAttachment*> DmaBufAttach(DmaBuf& buf, DmaDevice& dev);
  friend void DmaBufDetach(DmaBuf& buf, DmaBufAttachment* attachment);
  friend Result<std::span<const ScatterEntry>> DmaBufMapAttachment(DmaBuf& buf,
                                                                   DmaBufAttachment& attachment,
                                                                   DmaDirection dir);
  friend void DmaBufUnmapAttachment(DmaBuf& buf, DmaBufAttachment& attachment, DmaDirection dir);

  const uint64_t id_;
  const uint64_t size_;
  const uint32_t f_flags_;
  DmaBufExporter* const exporter_;
  std::unique_ptr<DmaBufOps> ops_;
  Owner owner_;    // set once by BufferTable::Install
  ino_t ino_ = 0;  // set once by BufferTable::Export
  dev_t dev_ = 0;  // set once by BufferTable::Export
  int wd_ = -1;    // inotify watch of the memfd inode; set once by BufferTable::Export
  UniqueFd file_;  // the creator's fd until Install hands it out; then empty
  // Null until the first attach (most buffers are never attached); guarded by
  // BufferLock(this), as is name_.
  std::unique_ptr<Attachments> attachments_;
  // NUL-terminated, "" == no name; guarded by BufferLock(this): names change rarely, so buffers
  // share a few striped locks rather than each carrying a 40-byte mutex.
  char name_[DMA_BUF_NAME_LEN] = {};
  std::atomic<uint64_t> cpu_accesses_{0};
  DmaStats dma_stats_;
};

using DmaBufRef = std::shared_ptr<DmaBuf>;

// The core's mmap check (dma_buf_mmap_internal): a mapping that reaches past the end → EINVAL;
// then the exporter's Mmap decides.
Result<void> DmaBufMmapCheck(DmaBuf& buf, const VmaRequest& vma);

// dma_buf_attach: a new attachment of `dev`, after the exporter's Attach accepted it.
// Errors: the exporter's. The pointer stays valid until DmaBufDetach.
Result<DmaBufAttachment*> DmaBufAttach(DmaBuf& buf, DmaDevice& dev);
// dma_buf_detach: unmaps the attachment if it is still mapped, then the exporter's Detach.
void DmaBufDetach(DmaBuf& buf, DmaBufAttachment* attachment);
// dma_buf_map_attachment: the device's sg table (the exporter's MapDmaBuf). EBUSY when the
// attachment is already mapped; the exporter's errors.
Result<std::span<const ScatterEntry>> DmaBufMapAttachment(DmaBuf& buf, DmaBufAttachment& attachment,
                                                          DmaDirection dir);
// dma_buf_unmap_attachment. Nothing happens for an unmapped attachment.
void DmaBufUnmapAttachment(DmaBuf& buf, DmaBufAttachment& attachment, DmaDirection dir);

}  // namespace dmaheap

#endif  // DMAHEAP_SRC_DMABUF_DMA_BUF_H
