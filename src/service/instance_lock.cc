#include "service/instance_lock.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include "ipc/transport.h"

namespace dmaheap {

InstanceLock::~InstanceLock() {
  // Unlinked while still locked: a daemon that opened the old file before the unlink finds, once
  // it holds the lock, that the path no longer names what it locked, and opens the path again.
  if (fd_) ::unlink(path_.c_str());
}

pid_t LockHolderPid(int fd) {
  char text[32] = {};
  const ssize_t n = ::pread(fd, text, sizeof(text) - 1, 0);
  if (n <= 0) return 0;
  char* end = nullptr;
  const long pid = std::strtol(text, &end, 10);
  return pid > 0 && end != text && (*end == '\n' || *end == '\0') ? static_cast<pid_t>(pid) : 0;
}

Result<InstanceLock> InstanceLock::Take(const std::string& path, const std::string& heap_dir,
                                        pid_t* previous) {
  for (;;) {
    UniqueFd fd(::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644));
    if (!fd) {
      const int err = errno;
      std::fprintf(stderr, "dmaheapd: cannot open lock %s: %s\n", path.c_str(), std::strerror(err));
      return Errno(err);
    }
    if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
      const int err = errno;
      if (err != EWOULDBLOCK) return Errno(err);
      const pid_t holder = LockHolderPid(fd.get());
      std::fprintf(stderr,
                   "dmaheapd: heap directory %s is served by a running dmaheapd (pid %d, "
                   "holding %s)\n",
                   heap_dir.c_str(), static_cast<int>(holder), path.c_str());
      return Errno(EBUSY);
    }
    // The file may have been unlinked by its last holder between our open and our lock.
    struct stat held {
    }, named{};
    if (::fstat(fd.get(), &held) != 0) return Errno(errno);
    if (::stat(path.c_str(), &named) != 0 || named.st_ino != held.st_ino ||
        named.st_dev != held.st_dev)
      continue;
    if (previous != nullptr) *previous = LockHolderPid(fd.get());
    const std::string pid = std::to_string(::getpid()) + "\n";
    if (::ftruncate(fd.get(), 0) != 0 ||
        ::pwrite(fd.get(), pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size()))
      return Errno(errno);
    InstanceLock lock;
    lock.path_ = path;
    lock.fd_ = std::move(fd);
    return lock;
  }
}

Result<void> ClearStaleHeapDirectory(const std::string& heap_dir, const std::string& control_path) {
  struct stat st {};
  if (::lstat(heap_dir.c_str(), &st) != 0) return {};  // nothing left behind
  auto not_ours = [&](const std::string& why) -> Error {
    std::fprintf(stderr, "dmaheapd: heap directory %s exists and %s: not a heap directory\n",
                 heap_dir.c_str(), why.c_str());
    return Errno(EEXIST);
  };
  if (!S_ISDIR(st.st_mode)) return not_ours("is not a directory");
  if (Result<UniqueFd> answer = ConnectSocket(control_path); answer.ok()) {
    std::fprintf(stderr,
                 "dmaheapd: heap directory %s: a daemon answers on %s without holding the lock\n",
                 heap_dir.c_str(), control_path.c_str());
    return Errno(EBUSY);
  }
  std::vector<std::string> sockets;
  DIR* d = ::opendir(heap_dir.c_str());
  if (d == nullptr) return Errno(errno);
  while (dirent* e = ::readdir(d)) {
    const std::string name = e->d_name;
    if (name == "." || name == "..") continue;
    const std::string path = heap_dir + "/" + name;
    if (::lstat(path.c_str(), &st) != 0 || !S_ISSOCK(st.st_mode)) {
      ::closedir(d);
      return not_ours("holds " + name + ", which is not a socket");
    }
    sockets.push_back(path);
  }
  ::closedir(d);
  for (const std::string& path : sockets) ::unlink(path.c_str());
  if (::rmdir(heap_dir.c_str()) != 0) return Errno(errno);
  std::fprintf(stderr, "dmaheapd: took over heap directory %s (%zu stale socket(s))\n",
               heap_dir.c_str(), sockets.size());
  return {};
}

}  // namespace dmaheap
