// ReleaseWatch: the inotify watches that tell a BufferTable when a buffer's memfd inode is gone
// (IN_DELETE_SELF: the last fd and the last mapping in every process). DESIGN.md "Buffers".
//
// A watch costs one of fs.inotify.max_user_watches, which the kernel counts per uid — the uid
// that created the inotify instance, not the one that adds the watch. A daemon with a single
// instance would spend its own uid's watches (root's, for a system daemon, and every program of
// root's shares them) on every client's buffers, so one client pinning buffers by their mappings
// could leave root and everyone else without a watch. Where this process may take another uid
// for a moment (CAP_SETUID: a root daemon), each uid's buffers are watched by an instance created
// under that uid (sys::InotifyInitAs), so a uid's buffers spend that uid's watches alone and it
// can exhaust nobody's but its own. Elsewhere (an unprivileged daemon serves its own user; the
// embedded backend serves its process) every watch is on the process's own instance. All the
// instances sit in one epoll set, so an event loop waits on one fd.
//
// Thread-safe: mu_ guards the instances and their watches, read_mu_ serialises reading them.
#ifndef DMAHEAP_SRC_DMABUF_RELEASE_WATCH_H
#define DMAHEAP_SRC_DMABUF_RELEASE_WATCH_H

#include <sys/types.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "dmaheap/result.h"
#include "dmaheap/unique_fd.h"

namespace dmaheap {

class ReleaseWatch {
 public:
  // One watch, for Cancel.
  struct Token {
    uid_t charged_to = 0;
    int wd = -1;
  };

  static Result<std::unique_ptr<ReleaseWatch>> Create();
  ReleaseWatch(const ReleaseWatch&) = delete;
  ReleaseWatch& operator=(const ReleaseWatch&) = delete;
  ~ReleaseWatch();

  // Watches `path` (a memfd inode `ino`, through /proc/…/fd/N or map_files) for its release,
  // charged to `uid` where this process can charge another uid, else to its own. ENOMEM when the
  // uid has no watch left (fs.inotify.max_user_watches; logged once per uid), ENOENT when the
  // inode is gone.
  Result<Token> Add(uid_t uid, const char* path, ino_t ino);
  // Drops a watch Add made (its inode no longer wanted); no event will report it.
  void Cancel(const Token& token);

  // Appends the inode of every watch that fired since the last call; after IN_Q_OVERFLOW the
  // instance's live watches are reconciled from its fdinfo. Non-blocking.
  void Collect(std::vector<ino_t>& released);

  // The fd an event loop waits on: readable when some release is queued.
  int fd() const { return epoll_fd_.get(); }
  uint64_t overflow_count() const { return overflows_.load(std::memory_order_relaxed); }
  // Whether each uid's watches are charged to that uid (a root process).
  bool per_uid() const { return per_uid_; }
  // The uids that have an instance of their own (for stats and tests).
  std::vector<uid_t> charged_uids() const;

  // In a forked child: closes this process's copies of the fds (the child must not take the
  // parent's events). Single-threaded use only, as a child after fork is.
  void CloseAfterFork();

 private:
  struct Instance {
    UniqueFd fd;
    std::unordered_map<int, ino_t> by_wd;  // guarded by mu_
  };
  ReleaseWatch(UniqueFd epoll_fd, UniqueFd own_fd);
  Instance* InstanceForLocked(uid_t uid);                      // requires mu_
  void Drain(Instance& in, std::vector<ino_t>& released);      // requires read_mu_
  void Reconcile(Instance& in, std::vector<ino_t>& released);  // requires read_mu_

  UniqueFd epoll_fd_;
  const uid_t own_uid_;
  const bool per_uid_;
  std::atomic<uint64_t> overflows_{0};
  mutable std::mutex read_mu_;
  mutable std::mutex mu_;
  // Keyed by the uid charged; own_uid_'s is the process's own instance. Never erased while the
  // process lives (pointers stay valid for the epoll set).
  std::unordered_map<uid_t, std::unique_ptr<Instance>> instances_;
  std::unordered_set<uid_t> fallback_logged_;  // guarded by mu_
  std::unordered_set<uid_t> limit_logged_;     // guarded by mu_
};

}  // namespace dmaheap

#endif  // DMAHEAP_SRC_DMABUF_RELEASE_WATCH_H
