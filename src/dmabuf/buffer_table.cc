#include "dmabuf/buffer_table.h"

#include <fcntl.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <unordered_set>

#include "base/check.h"

namespace dmaheap {
namespace {

// memfd names are at most 249 bytes; a very long exporter name is cut, the id always kept.
void FormatMemfdName(char (&out)[250], const std::string& exp_name, uint64_t id) {
  std::snprintf(out, sizeof(out), "dmaheap:%.200s:%llu", exp_name.c_str(),
                static_cast<unsigned long long>(id));
}

}  // namespace

Result<std::unique_ptr<BufferTable>> BufferTable::Create(sys::ShmemThp thp,
                                                         CommitPolicy commit) {
  int fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0) return Errno(errno);
  return std::unique_ptr<BufferTable>(new BufferTable(UniqueFd(fd), thp, commit));
}

BufferTable::BufferTable(UniqueFd inotify_fd, sys::ShmemThp thp, CommitPolicy commit)
    : inotify_fd_(std::move(inotify_fd)), thp_(thp), commit_(commit) {}

BufferTable::~BufferTable() {
  if (abandoned_.load()) {
    // A forked child's copy: the buffers and the memory model are the parent's. Leak the
    // objects rather than run releases that would touch state the parent may have been
    // changing when it forked.
    auto* by_wd = new std::unordered_map<int, ino_t>(std::move(by_wd_));
    auto* by_ino = new std::unordered_map<ino_t, DmaBufRef>(std::move(by_ino_));
    (void)by_wd;
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

  char path[32];
  std::snprintf(path, sizeof(path), "/proc/self/fd/%d", fd.get());
  int wd = ::inotify_add_watch(inotify_fd_.get(), path, IN_DELETE_SELF);
  if (wd < 0) {
    int err = errno;
    if (err == ENOSPC) {
      std::fprintf(stderr,
                   "dmaheap: %s: inotify watch limit reached (fs.inotify.max_user_watches); "
                   "allocation of %llu bytes refused with ENOMEM\n",
                   info.exporter->exp_name().c_str(), static_cast<unsigned long long>(size));
      return Errno(ENOMEM);
    }
    return Errno(err);
  }

  // One allocation for the buffer and its reference count.
  DmaBufRef buf = std::make_shared<DmaBuf>(DmaBuf::CreateKey(), id, std::move(info));
  buf->ino_ = st.st_ino;
  buf->dev_ = st.st_dev;
  buf->wd_ = wd;
  buf->file_ = std::move(fd);
  return buf;
}

Result<UniqueFd> BufferTable::Install(const DmaBufRef& buf, const InstallRequest& request) {
  if (!buf->file_) return Errno(EBUSY);
  const int accmode = static_cast<int>(request.fd_flags & O_ACCMODE);
  UniqueFd out;
  if (accmode == O_RDWR) {
    out = std::move(buf->file_);  // created O_RDWR | O_CLOEXEC
  } else {
    // A new open file description with exactly the requested access mode; the creator's
    // read-write fd closes when the buffer is registered below.
    out = TRY(sys::Reopen(buf->file_.get(), accmode | O_CLOEXEC));
    buf->file_.reset();
  }
  buf->owner_ = request.owner;
  if (!request.name.empty()) buf->set_name(request.name);
  std::lock_guard lock(mu_);
  by_wd_.emplace(buf->wd_, buf->ino_);
  by_ino_.emplace(buf->ino_, buf);
  UidUsage& usage = usage_[request.owner.uid];
  ++usage.buffers;
  usage.bytes += buf->size();
  return out;
}

Result<DmaBufRef> BufferTable::Adopt(DmaBufExportInfo info, uint64_t id, dev_t dev, ino_t ino,
                                     const std::string& watch_path,
                                     const InstallRequest& request) {
  if (abandoned_.load(std::memory_order_relaxed)) return Errno(ENODEV);
  {
    std::lock_guard lock(mu_);
    if (by_ino_.count(ino) != 0) return Errno(EEXIST);
  }
  // The watch first, then the check that it is the buffer's inode: a release after the watch is
  // an event like any other, one before it leaves nothing to watch (ENOENT).
  const int wd = ::inotify_add_watch(inotify_fd_.get(), watch_path.c_str(), IN_DELETE_SELF);
  if (wd < 0) return Errno(errno == ENOSPC ? ENOMEM : errno);
  struct stat st {};
  if (::stat(watch_path.c_str(), &st) != 0 || st.st_ino != ino || st.st_dev != dev) {
    const int err = errno == ENOENT ? ENOENT : ESTALE;
    ::inotify_rm_watch(inotify_fd_.get(), wd);
    return Errno(err);
  }
  DmaBufRef buf = std::make_shared<DmaBuf>(DmaBuf::CreateKey(), id, std::move(info));
  buf->ino_ = ino;
  buf->dev_ = dev;
  buf->wd_ = wd;
  buf->owner_ = request.owner;
  if (!request.name.empty()) buf->set_name(request.name);
  AdvanceIds(id + 1);
  std::lock_guard lock(mu_);
  by_wd_.emplace(wd, ino);
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
  std::vector<DmaBufRef> released;  // dropped after the locks, so releases run unlocked
  {
    std::lock_guard read_lock(read_mu_);
    alignas(inotify_event) char buf[16 * 1024];
    bool overflow = false;
    for (;;) {
      ssize_t n = ::read(inotify_fd_.get(), buf, sizeof(buf));
      if (n < 0) {
        if (errno == EINTR) continue;
        break;  // EAGAIN: queue empty
      }
      std::lock_guard lock(mu_);
      for (ssize_t off = 0; off < n;) {
        const auto* ev = reinterpret_cast<const inotify_event*>(buf + off);
        off += static_cast<ssize_t>(sizeof(inotify_event) + ev->len);
        if ((ev->mask & IN_Q_OVERFLOW) != 0) overflow = true;
        if ((ev->mask & IN_DELETE_SELF) == 0) continue;  // IN_IGNORED follows each release
        auto it = by_wd_.find(ev->wd);
        if (it == by_wd_.end()) continue;
        auto buf = by_ino_.find(it->second);
        if (buf != by_ino_.end()) ForgetLocked(buf, released);
        by_wd_.erase(it);
      }
    }
    if (overflow) {
      overflows_.fetch_add(1, std::memory_order_relaxed);
      ReconcileLocked(released);
    }
  }
  return released.size();
}

// After IN_Q_OVERFLOW some IN_DELETE_SELF events were lost. The kernel lists each live watch of
// an inotify fd in its fdinfo ("inotify wd:%x ino:%lx sdev:%x ..."); a released watch is gone
// from it at once, so every buffer whose wd is missing there has been released.
void BufferTable::ReconcileLocked(std::vector<DmaBufRef>& released) {
  char path[64];
  std::snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", inotify_fd_.get());
  FILE* f = std::fopen(path, "re");
  if (f == nullptr) return;
  std::unordered_set<int> live;
  char line[512];
  while (std::fgets(line, sizeof(line), f) != nullptr) {
    unsigned wd = 0;
    if (std::sscanf(line, "inotify wd:%x", &wd) == 1) live.insert(static_cast<int>(wd));
  }
  std::fclose(f);
  std::lock_guard lock(mu_);
  for (auto it = by_wd_.begin(); it != by_wd_.end();) {
    if (live.count(it->first) != 0) {
      ++it;
      continue;
    }
    auto buf = by_ino_.find(it->second);
    if (buf != by_ino_.end()) ForgetLocked(buf, released);
    it = by_wd_.erase(it);
  }
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
  inotify_fd_.reset();
}

}  // namespace dmaheap
