// One daemon per heap directory. The daemon holds an flock on "<heap dir>.lock" (its pid written
// inside) for as long as it serves: a lock that can be taken means whoever made the heap
// directory is dead, so its leftovers (the directory's sockets, the control and device sockets)
// are stale and may be taken over; a lock that cannot be taken names the live daemon. The kernel
// drops an flock when its holder dies, however it dies (kill -9 included), so no stale lock can
// outlive a daemon.
#ifndef DMAHEAP_SRC_SERVICE_INSTANCE_LOCK_H
#define DMAHEAP_SRC_SERVICE_INSTANCE_LOCK_H

#include <sys/types.h>

#include <string>

#include "dmaheap/result.h"
#include "dmaheap/unique_fd.h"

namespace dmaheap {

class InstanceLock {
 public:
  InstanceLock() = default;
  InstanceLock(InstanceLock&&) = default;
  InstanceLock& operator=(InstanceLock&&) = default;
  ~InstanceLock();  // removes the lock file, then lets the lock go

  // Takes the lock at `path` for the heap directory `heap_dir` (named in messages). EBUSY,
  // logged naming the holder's pid, while another live process holds it; open's errno otherwise.
  // `previous` gets the pid the file held when it was taken (a dead daemon's), 0 for a new file.
  static Result<InstanceLock> Take(const std::string& path, const std::string& heap_dir,
                                   pid_t* previous = nullptr);

  const std::string& path() const { return path_; }
  bool held() const { return static_cast<bool>(fd_); }

 private:
  std::string path_;
  UniqueFd fd_;
};

// The pid written in a lock file, 0 when there is none or it is unreadable.
pid_t LockHolderPid(int fd);

// Clears what a dead daemon left at `heap_dir`: its sockets and then the directory itself, only
// when the directory holds nothing but sockets (EEXIST, logged, otherwise: it is not ours), and
// only while no one answers on `control_path` (EBUSY, logged: a daemon that serves without the
// lock). Call it only holding the directory's InstanceLock. Nothing there: nothing to do.
Result<void> ClearStaleHeapDirectory(const std::string& heap_dir, const std::string& control_path);

}  // namespace dmaheap

#endif  // DMAHEAP_SRC_SERVICE_INSTANCE_LOCK_H
