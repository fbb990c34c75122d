// BufferTable: the live buffers of one System, their memfd backing and their release.
//
// Export (dma_buf_export) creates a buffer's memory exactly as DESIGN.md "Buffers" says: a memfd
// `dmaheap:<exp_name>:<id>` (MFD_CLOEXEC|MFD_ALLOW_SEALING|MFD_NOEXEC_SEAL), sized to the
// page-aligned length, committed (here, or by the requesting process: CommitPolicy), sealed
// SHRINK|GROW|SEAL (plus WRITE when the buffer is handed out without write access). Install
// (dma_buf_fd) then records who asked, watches the inode for IN_DELETE_SELF through
// /proc/self/fd/N (ReleaseWatch: charged to the asker's uid where the process may), names it,
// registers it and hands out its fd. The event fires when the last fd and the
// last mapping are gone in every process; ProcessReleases then drops the buffer, which releases
// its memory (DmaBufOps destructor). A buffer exported but never installed is released when its
// last reference goes.
//
// Every allocation and every stats read calls ProcessReleases first, so a close that has
// returned is visible to the next call: the kernel queues IN_DELETE_SELF before close/munmap
// returns.
//
// Thread-safe: mu_ guards the maps; ReleaseWatch serialises reading the inotify queues.
#ifndef DMAHEAP_SRC_DMABUF_BUFFER_TABLE_H
#define DMAHEAP_SRC_DMABUF_BUFFER_TABLE_H

#include <sys/types.h>

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "dmabuf/dma_buf.h"
#include "dmabuf/release_watch.h"
#include "platform/sys.h"

namespace dmaheap {

// Who commits an O_RDWR buffer's memory. The requesting process, when it is another one (the
// daemon): the client library or the shim commits the memfd it receives, so the pages are
// charged to the client's memory cgroup, not the daemon's. A buffer without write access is
// always committed here, before it is sealed against writes.
enum class CommitPolicy { kHere, kInRequester };

// What Install records of the request a buffer was made for.
struct InstallRequest {
  Owner owner;            // the requesting process's credentials
  std::string_view name;  // DMA_BUF_SET_NAME at birth; "" for none; < DMA_BUF_NAME_LEN bytes
  uint32_t fd_flags = 0;  // O_ACCMODE | O_CLOEXEC, as validated by the caller
};

// What one uid's live buffers hold.
struct UidUsage {
  uint64_t buffers = 0;
  uint64_t bytes = 0;
};

class BufferTable {
 public:
  BufferTable(const BufferTable&) = delete;
  BufferTable& operator=(const BufferTable&) = delete;
  ~BufferTable();

  // `thp`: how to commit memory (huge folios where the host's shmem THP mode allows them).
  static Result<std::unique_ptr<BufferTable>> Create(sys::ShmemThp thp, CommitPolicy commit);

  // dma_buf_export: the buffer with its creator fd, not yet watched nor registered. Errors:
  // ENOMEM when the memory cannot be committed; EMFILE/ENFILE; ENODEV in a forked child's copy.
  Result<DmaBufRef> Export(DmaBufExportInfo info);

  // dma_buf_fd: records the request's owner and name, registers the buffer and hands out its
  // fd — the creator's memfd, or for a non-O_RDWR request a new open file description with
  // exactly that access mode — close-on-exec (the caller's installer applies what was asked).
  // Once per buffer: EBUSY for a buffer already installed. EMFILE/ENFILE; ENOMEM when the
  // owner's uid has no inotify watch left (logged).
  Result<UniqueFd> Install(const DmaBufRef& buf, const InstallRequest& request);

  // A buffer that outlived the daemon that exported it, taken back under its old id, registered
  // as Install registers one (owner, name, usage) but with no fd of the table's: `watch_path`
  // names the live memfd inode (/proc/PID/fd/N, /proc/PID/map_files/RANGE), which must be
  // `dev`/`ino`, and is watched for its release. Later exports get ids above `id`. ENOENT when
  // the inode is gone meanwhile (the buffer was released), ESTALE when the path names another
  // inode, EEXIST for an inode already registered; ENOMEM when no watch can be added.
  Result<DmaBufRef> Adopt(DmaBufExportInfo info, uint64_t id, dev_t dev, ino_t ino,
                          const std::string& watch_path, const InstallRequest& request);
  // The id the next export gets; AdvanceIds makes it at least `next` (ids never repeat across a
  // daemon's restarts: memfd names carry them).
  uint64_t next_id() const { return next_id_.load(std::memory_order_relaxed); }
  void AdvanceIds(uint64_t next);

  // Releases every buffer whose IN_DELETE_SELF is queued. After IN_Q_OVERFLOW the live watches
  // are reconciled from the instance's fdinfo. Returns the number released.
  size_t ProcessReleases();

  // The live buffer behind a memfd inode, or null.
  DmaBufRef Lookup(dev_t dev, ino_t ino) const;
  // Live buffers ordered by id.
  std::vector<DmaBufRef> Snapshot() const;
  size_t live_count() const;
  // Live buffers by the uid that allocated them (Install's owner): kept as buffers come and go,
  // so a limit check costs one lookup.
  UidUsage UsageOf(uid_t uid) const;
  std::map<uid_t, UidUsage> UsageByUid() const;
  // The fd an event loop waits on (readable when releases are queued).
  int release_fd() const { return watch_->fd(); }
  uint64_t overflow_count() const { return watch_->overflow_count(); }
  const ReleaseWatch& release_watch() const { return *watch_; }
  sys::ShmemThp thp() const { return thp_; }
  CommitPolicy commit_policy() const { return commit_; }

  // In a child after fork: closes the child's copies of the inotify fds (it must not consume the
  // parent's events) and forgets every buffer without releasing it — the memory model belongs
  // to the parent.
  void AbandonAfterFork();

 private:
  BufferTable(std::unique_ptr<ReleaseWatch> watch, sys::ShmemThp thp, CommitPolicy commit);

  const std::unique_ptr<ReleaseWatch> watch_;
  const sys::ShmemThp thp_;
  const CommitPolicy commit_;
  std::atomic<uint64_t> next_id_{1};
  std::atomic<bool> abandoned_{false};
  mutable std::mutex mu_;
  std::unordered_map<ino_t, DmaBufRef> by_ino_;  // guarded by mu_; the live buffers
  std::unordered_map<uid_t, UidUsage> usage_;    // guarded by mu_; of the buffers in by_ino_
  // Drops a live buffer (guarded by mu_): into `released`, and out of its uid's usage.
  void ForgetLocked(std::unordered_map<ino_t, DmaBufRef>::iterator it,
                    std::vector<DmaBufRef>& released);
};

}  // namespace dmaheap

#endif  // DMAHEAP_SRC_DMABUF_BUFFER_TABLE_H
