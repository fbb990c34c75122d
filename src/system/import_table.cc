#include "system/import_table.h"

#include <fcntl.h>
#include <sys/stat.h>

#include "base/check.h"
#include "dmabuf/importer.h"
#include "system/system_core.h"

namespace dmaheap {

namespace {

// The sticky bit on the buffer's file says "a device has it mapped" (ipc/device_wire.h).
void MarkMapped(const DmaBuf& buf, int fd) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return;
  const mode_t want = buf.has_mapped_attachments() ? (st.st_mode | S_ISVTX) : (st.st_mode & ~S_ISVTX);
  if (want != st.st_mode) (void)::fchmod(fd, want & 07777);
}

}  // namespace

ImportTable::~ImportTable() {
  std::map<uint64_t, Entry> entries;
  {
    std::lock_guard lock(mu_);
    entries.swap(entries_);
  }
  for (auto& [id, e] : entries) Release(e);
}

void ImportTable::Release(Entry& e) {
  DmaBufDetach(*e.buf, e.attachment);
  if (mark_mapped_) MarkMapped(*e.buf, e.file.get());
}

Result<Imported> ImportTable::Import(int buffer_fd, std::string_view device, DmaDirection dir) {
  return DoImport(buffer_fd, device, dir, false);
}

Result<Imported> ImportTable::ImportOnce(int buffer_fd, std::string_view device,
                                         DmaDirection dir) {
  return DoImport(buffer_fd, device, dir, true);
}

Result<Imported> ImportTable::DoImport(int buffer_fd, std::string_view device, DmaDirection dir,
                                       bool once) {
  TRY(core_.CheckAlive());
  if (buffer_fd < 0 || ::fcntl(buffer_fd, F_GETFD) < 0) return Errno(EBADF);
  SystemCore* owner = nullptr;
  DmaBufRef buf = SystemCore::FindBuffer(buffer_fd, &owner);
  if (buf == nullptr || owner != &core_) return Errno(EINVAL);  // not a dma-buf (of ours)
  DmaDevice* dev = core_.FindDevice(device);
  if (dev == nullptr) return Errno(ENODEV);
  if (once) {
    std::lock_guard lock(mu_);
    for (const auto& [id, e] : entries_) {
      if (e.buf == buf && e.attachment->dev == dev) return Imported{id, e.attachment->table, true};
    }
  }
  UniqueFd file(::fcntl(buffer_fd, F_DUPFD_CLOEXEC, 0));
  if (!file) return Errno(errno);
  DmaBufAttachment* attachment = TRY(DmaBufImport(*buf, *dev, dir));
  if (mark_mapped_) MarkMapped(*buf, file.get());
  std::lock_guard lock(mu_);
  const uint64_t id = next_id_++;
  entries_.emplace(id, Entry{buf, attachment, std::move(file)});
  return Imported{id, attachment->table, false};
}

Result<void> ImportTable::Detach(uint64_t id) {
  Entry e;
  {
    std::lock_guard lock(mu_);
    auto it = entries_.find(id);
    if (it == entries_.end()) return Errno(ENOENT);
    e = std::move(it->second);
    entries_.erase(it);
  }
  Release(e);
  return {};
}

size_t ImportTable::size() const {
  std::lock_guard lock(mu_);
  return entries_.size();
}

}  // namespace dmaheap
