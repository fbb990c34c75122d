#include "dmabuf/buffer_table.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>

#include "base/check.h"

namespace dmaheap {
namespace {

// memfd names are at most 249 bytes; a very long exporter name is cut, the id always kept.
void FormatMemfdName(char (&out)[250], const std::string& exp_name, uint64_t id) {
  std::snprintf(out, sizeof(out), "dmaheap:%.200s:%llu", exp_name.c_str(),
                static_cast<unsigned long long>(id));
}

}  // namespace

Result<std::unique_ptr<BufferTable>> BufferTable::Create(sys::ShmemThp thp, CommitPolicy commit) {
  std::unique_ptr<ReleaseWatch> watch = TRY(ReleaseWatch::Create());
  return std::unique_ptr<BufferTable>(new BufferTable(std::move(watch), thp, commit));
}

BufferTable::BufferTable(std::unique_ptr<ReleaseWatch> watch, sys::ShmemThp thp,
                         CommitPolicy commit)
    : watch_(std::move(watch)), thp_(thp), commit_(commit) {}

BufferTable::~BufferTable() {
  if (abandoned_.load()) {
    // A forked child's copy: the buffers and the memory model are the parent's. Leak the
    // objects rather than run releases that would touch state the parent may have been
    // changing when it forked.
    auto* by_ino = new std::unordered_map<ino_t, DmaBufRef>(std::move(by_ino_));
    (void)by_ino;
  }
}

Result<DmaBufRef> BufferTable::Export(DmaBufExportInfo info) {
  if (abandoned_.load(std::memory_order_relaxed)) return Errno(ENODEV);
  const uint64_t id = next_id_.fetch_add(1, std::memory_order_relaxed);
  const uint64_t size = info.size;
  const int accmode = static_cast<int>(info.flags & O_ACCMODE);

  char memfd_name[250];
  FormatMemfdName(memfd_name, info.exporter->exp_name(), id);
  UniqueFd fd = TRY(sys::MemfdCreate(memfd_name));
  // A buffer without write access is committed here and sealed against writes, so no holder can
  // write through a /proc/self/fd reopen. An O_RDWR buffer is committed here too unless the
  // requesting process commits it (CommitPolicy::kInRequester). fallocate also sets the size,
  // saving the ftruncate on the common path.
  const bool commit_here = accmode != O_RDWR || commit_ == CommitPolicy::kHere;
  if (commit_here && thp_ != sys::ShmemThp::kHugeAdvise) {
    TRY(sys::Fallocate(fd.get(), size));
  } else {
    TRY(sys::Ftruncate(fd.get(), size));
    if (commit_here) TRY(sys::PopulateHuge(fd.get(), size));
  }
  int seals = F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL;
  if (accmode != O_RDWR) seals |= F_SEAL_WRITE;
  TRY(sys::AddSeals(fd.get(), seals));
  struct stat st = TRY(sys::Fstat(fd.get()));

  // One allocation for the buffer and its reference count.
  DmaBufRef buf = std::make_shared<DmaBuf>(DmaBuf::CreateKey(), id, std::move(info));
  buf->ino_ = st.st_ino;
  buf->dev_ = st.st_dev;
  buf->file_ = std::move(fd);
  return buf;
}

Result<UniqueFd> BufferTable::Install(const DmaBufRef& buf, const InstallRequest& request) {
  if (!buf->file_) return Errno(EBUSY);
  // Watched before its fd leaves: from here on, its release is an event.
  char path[32];
  std::snprintf(path, sizeof(path), "/proc/self/fd/%d", buf->file_.get());
  const ReleaseWatch::Token watch = TRY(watch_->Add(request.owner.uid, path, buf->ino_));
  buf->wd_ = watch.wd;
  const int accmode = static_cast<int>(request.fd_flags & O_ACCMODE);
  UniqueFd out;
  if (accmode == O_RDWR) {
    out = std::move(buf->file_);  // created O_RDWR | O_CLOEXEC
  } else {
    // A new open file description with exactly the requested access mode; the creator's
    // read-write fd closes when the buffer is registered below.
    Result<UniqueFd> reopened = sys::Reopen(buf->file_.get(), accmode | O_CLOEXEC);
    if (!reopened.ok()) {
      watch_->Cancel(watch);
      return Errno(reopened.error());
    }
    out = std::move(reopened).value();
    buf->file_.reset();
  }
  buf->owner_ = request.owner;
  if (!request.name.empty()) buf->set_name(request.name);
  std::lock_guard lock(mu_);
  by_ino_.emplace(buf->ino_, buf);
  UidUsage& usage = usage_[request.owner.uid];
  ++usage.buffers;
  usage.bytes += buf->size();
  return out;
}

Result<DmaBufRef> BufferTable::Adopt(DmaBufExportInfo info, uint64_t id, dev_t dev, ino_t ino,
                                     const std::string& watch_path, const InstallRequest& request) {
  if (abandoned_.load(std::memory_order_relaxed)) return Errno(ENODEV);
  {
    std::lock_guard lock(mu_);
    if (by_ino_.count(ino) != 0) return Errno(EEXIST);
  }
  // The watch first, then the check that it is the buffer's inode: a release after the watch is
  // an event like any other, one before it leaves nothing to watch (ENOENT).
  const ReleaseWatch::Token watch = TRY(watch_->Add(request.owner.uid, watch_path.c_str(), ino));
  struct stat st {};
  if (::stat(watch_path.c_str(), &st) != 0 || st.st_ino != ino || st.st_dev != dev) {
    const int err = errno == ENOENT ? ENOENT : ESTALE;
    watch_->Cancel(watch);
    return Errno(err);
  }
  DmaBufRef buf = std::make_shared<DmaBuf>(DmaBuf::CreateKey(), id, std::move(info));
  buf->ino_ = ino;
  buf->dev_ = dev;
  buf->wd_ = watch.wd;
  buf->owner_ = request.owner;
  if (!request.name.empty()) buf->set_name(request.name);
  AdvanceIds(id + 1);
  std::lock_guard lock(mu_);
  by_ino_.emplace(ino, buf);
  UidUsage& usage = usage_[request.owner.uid];
  ++usage.buffers;
  usage.bytes += buf->size();
  return buf;
}

void BufferTable::AdvanceIds(uint64_t next) {
  uint64_t now = next_id_.load(std::memory_order_relaxed);
  while (now < next && !next_id_.compare_exchange_weak(now, next)) {
  }
}

void BufferTable::ForgetLocked(std::unordered_map<ino_t, DmaBufRef>::iterator it,
                               std::vector<DmaBufRef>& released) {
  const DmaBuf& buf = *it->second;
  if (auto usage = usage_.find(buf.owner().uid); usage != usage_.end()) {
    usage->second.bytes -= buf.size();
    if (--usage->second.buffers == 0) usage_.erase(usage);
  }
  released.push_back(std::move(it->second));
  by_ino_.erase(it);
}

UidUsage BufferTable::UsageOf(uid_t uid) const {
  std::lock_guard lock(mu_);
  auto it = usage_.find(uid);
  return it == usage_.end() ? UidUsage{} : it->second;
}

std::map<uid_t, UidUsage> BufferTable::UsageByUid() const {
  std::lock_guard lock(mu_);
  return {usage_.begin(), usage_.end()};
}

size_t BufferTable::ProcessReleases() {
  if (abandoned_.load(std::memory_order_relaxed)) return 0;
  std::vector<ino_t> gone;
  watch_->Collect(gone);
  if (gone.empty()) return 0;
  std::vector<DmaBufRef> released;  // dropped after the lock, so releases run unlocked
  {
    std::lock_guard lock(mu_);
    for (ino_t ino : gone) {
      auto buf = by_ino_.find(ino);
      if (buf != by_ino_.end()) ForgetLocked(buf, released);
    }
  }
  return released.size();
}

DmaBufRef BufferTable::Lookup(dev_t dev, ino_t ino) const {
  std::lock_guard lock(mu_);
  auto it = by_ino_.find(ino);
  if (it == by_ino_.end() || it->second->dev() != dev) return nullptr;
  return it->second;
}

std::vector<DmaBufRef> BufferTable::Snapshot() const {
  std::vector<DmaBufRef> out;
  {
    std::lock_guard lock(mu_);
    out.reserve(by_ino_.size());
    for (const auto& [ino, buf] : by_ino_) out.push_back(buf);
  }
  std::sort(out.begin(), out.end(),
            [](const DmaBufRef& a, const DmaBufRef& b) { return a->id() < b->id(); });
  return out;
}

size_t BufferTable::live_count() const {
  std::lock_guard lock(mu_);
  return by_ino_.size();
}

void BufferTable::AbandonAfterFork() {
  abandoned_.store(true);
  watch_->CloseAfterFork();
}

}  // namespace dmaheap
