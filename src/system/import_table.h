// ImportTable: the buffers one importer holds attached and mapped for devices — what a driver's
// open file holds (a DRM file's prime imports, a V4L2 queue's dmabuf planes). The embedded API
// keeps one per System, the daemon one per connection of an importing process, so an importer's
// attachments die with it, as a driver's do when its file is closed.
//
// Thread-safe: mu_ guards the entries.
#ifndef DMAHEAP_SRC_SYSTEM_IMPORT_TABLE_H
#define DMAHEAP_SRC_SYSTEM_IMPORT_TABLE_H

#include <cstdint>
#include <map>
#include <mutex>
#include <string_view>

#include "dma/dma_types.h"
#include "dmabuf/dma_buf.h"
#include "dmaheap/result.h"

namespace dmaheap {

class SystemCore;

struct Imported {
  uint64_t id;       // the import's handle in this table (from 1)
  SgTable segments;  // what the device sees
  bool existing;     // ImportOnce found it already imported
};

class ImportTable {
 public:
  // `core` outlives the table. With `mark_mapped` (the daemon's tables), a buffer's file gets
  // the sticky bit while a device has it mapped, for clients to see (ipc/device_wire.h).
  explicit ImportTable(SystemCore& core, bool mark_mapped = false)
      : core_(core), mark_mapped_(mark_mapped) {}
  ImportTable(const ImportTable&) = delete;
  ImportTable& operator=(const ImportTable&) = delete;
  ~ImportTable();  // detaches what is left

  // The buffer behind `buffer_fd` attached to `device` and mapped (DmaBufImport). Errors: EBADF
  // (not an open fd), EINVAL (not a dma-buf of this System), ENODEV (no such device), and the
  // import's: EIO (unreachable, no swiotlb room), ENOMEM (IOVA space), EINVAL (a
  // contiguous-only device and a scattered buffer).
  Result<Imported> Import(int buffer_fd, std::string_view device, DmaDirection dir);
  // As Import, but a buffer this table already holds for `device` gives its existing import
  // (drm_prime_fd_to_handle: the same buffer twice is the same GEM handle).
  Result<Imported> ImportOnce(int buffer_fd, std::string_view device, DmaDirection dir);
  // Unmaps and detaches. ENOENT for an id the table does not hold.
  Result<void> Detach(uint64_t id);
  size_t size() const;

 private:
  // An import holds a reference to the buffer's file, as an importer's dma_buf_get does: the
  // buffer outlives every fd its exporter's users hold while a device has it.
  struct Entry {
    DmaBufRef buf;
    DmaBufAttachment* attachment = nullptr;
    UniqueFd file;
  };
  Result<Imported> DoImport(int buffer_fd, std::string_view device, DmaDirection dir, bool once);
  void Release(Entry& e);

  SystemCore& core_;
  const bool mark_mapped_;
  mutable std::mutex mu_;
  std::map<uint64_t, Entry> entries_;  // guarded by mu_
  uint64_t next_id_ = 1;               // guarded by mu_
};

}  // namespace dmaheap

#endif  // DMAHEAP_SRC_SYSTEM_IMPORT_TABLE_H
