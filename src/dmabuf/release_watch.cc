#include "dmabuf/release_watch.h"

#include <sys/epoll.h>
#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

#include "base/check.h"
#include "platform/sys.h"

namespace dmaheap {

Result<std::unique_ptr<ReleaseWatch>> ReleaseWatch::Create() {
  const int epoll_fd = ::epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd < 0) return Errno(errno);
  UniqueFd epoll(epoll_fd);
  const int own_fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (own_fd < 0) return Errno(errno);
  return std::unique_ptr<ReleaseWatch>(new ReleaseWatch(std::move(epoll), UniqueFd(own_fd)));
}

ReleaseWatch::ReleaseWatch(UniqueFd epoll_fd, UniqueFd own_fd)
    : epoll_fd_(std::move(epoll_fd)), own_uid_(::geteuid()), per_uid_(own_uid_ == 0) {
  auto own = std::make_unique<Instance>();
  own->fd = std::move(own_fd);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.ptr = own.get();
  DMAHEAP_CHECK(::epoll_ctl(epoll_fd_.get(), EPOLL_CTL_ADD, own->fd.get(), &ev) == 0);
  instances_.emplace(own_uid_, std::move(own));
}

ReleaseWatch::~ReleaseWatch() = default;

ReleaseWatch::Instance* ReleaseWatch::InstanceForLocked(uid_t uid) {
  if (!per_uid_) uid = own_uid_;
  if (auto it = instances_.find(uid); it != instances_.end()) return it->second.get();
  Result<UniqueFd> fd = sys::InotifyInitAs(uid);
  epoll_event ev{};
  auto in = std::make_unique<Instance>();
  ev.events = EPOLLIN;
  ev.data.ptr = in.get();
  if (fd.ok() && ::epoll_ctl(epoll_fd_.get(), EPOLL_CTL_ADD, fd->get(), &ev) == 0) {
    in->fd = std::move(fd).value();
    return instances_.emplace(uid, std::move(in)).first->second.get();
  }
  // Most likely EMFILE: the uid has fs.inotify.max_user_instances instances already. Its
  // buffers are then watched on the process's own instance, where the uid's buffer limit still
  // bounds what it can take.
  const int err = fd.ok() ? errno : fd.error();
  if (fallback_logged_.insert(uid).second) {
    std::fprintf(stderr,
                 "dmaheap: uid %u: no inotify instance of its own (%s; "
                 "fs.inotify.max_user_instances?): its buffers are watched on the daemon's\n",
                 static_cast<unsigned>(uid), std::strerror(err));
  }
  return instances_.at(own_uid_).get();
}

Result<ReleaseWatch::Token> ReleaseWatch::Add(uid_t uid, const char* path, ino_t ino) {
  std::lock_guard lock(mu_);
  Instance* in = InstanceForLocked(uid);
  const int wd = ::inotify_add_watch(in->fd.get(), path, IN_DELETE_SELF);
  if (wd < 0) {
    if (errno != ENOSPC) return Errno(errno);
    // Once per uid: a client that keeps asking must not flood the log.
    if (limit_logged_.insert(uid).second) {
      std::fprintf(stderr,
                   "dmaheap: uid %u: inotify watch limit reached (fs.inotify.max_user_watches); "
                   "its allocations are refused with ENOMEM until it releases buffers (logged "
                   "once)\n",
                   static_cast<unsigned>(uid));
    }
    return Errno(ENOMEM);
  }
  in->by_wd[wd] = ino;
  const uid_t charged = in == instances_.at(own_uid_).get() ? own_uid_ : uid;
  return Token{charged, wd};
}

void ReleaseWatch::Cancel(const Token& token) {
  std::lock_guard lock(mu_);
  auto it = instances_.find(token.charged_to);
  if (it == instances_.end()) return;
  it->second->by_wd.erase(token.wd);
  ::inotify_rm_watch(it->second->fd.get(), token.wd);
}

void ReleaseWatch::Collect(std::vector<ino_t>& released) {
  std::lock_guard read_lock(read_mu_);
  if (!epoll_fd_) return;
  constexpr int kBatch = 32;
  epoll_event ready[kBatch];
  for (;;) {
    const int n = ::epoll_wait(epoll_fd_.get(), ready, kBatch, 0);
    if (n < 0 && errno == EINTR) continue;
    for (int i = 0; i < n; ++i) Drain(*static_cast<Instance*>(ready[i].data.ptr), released);
    if (n < kBatch) return;  // a drained instance is not ready again until its next event
  }
}

void ReleaseWatch::Drain(Instance& in, std::vector<ino_t>& released) {
  alignas(inotify_event) char buf[16 * 1024];
  bool overflow = false;
  for (;;) {
    const ssize_t n = ::read(in.fd.get(), buf, sizeof(buf));
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
      auto it = in.by_wd.find(ev->wd);
      if (it == in.by_wd.end()) continue;
      released.push_back(it->second);
      in.by_wd.erase(it);
    }
  }
  if (overflow) {
    overflows_.fetch_add(1, std::memory_order_relaxed);
    Reconcile(in, released);
  }
}

// After IN_Q_OVERFLOW some IN_DELETE_SELF events were lost. The kernel lists each live watch of
// an inotify fd in its fdinfo ("inotify wd:%x ino:%lx sdev:%x ..."); a released watch is gone
// from it at once, so every watch missing there has been released.
void ReleaseWatch::Reconcile(Instance& in, std::vector<ino_t>& released) {
  char path[64];
  std::snprintf(path, sizeof(path), "/proc/self/fdinfo/%d", in.fd.get());
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
  for (auto it = in.by_wd.begin(); it != in.by_wd.end();) {
    if (live.count(it->first) != 0) {
      ++it;
      continue;
    }
    released.push_back(it->second);
    it = in.by_wd.erase(it);
  }
}

std::vector<uid_t> ReleaseWatch::charged_uids() const {
  std::lock_guard lock(mu_);
  std::vector<uid_t> out;
  for (const auto& [uid, in] : instances_) {
    if (uid != own_uid_) out.push_back(uid);
  }
  return out;
}

void ReleaseWatch::CloseAfterFork() {
  epoll_fd_.reset();
  for (auto& [uid, in] : instances_) in->fd.reset();
}

}  // namespace dmaheap
