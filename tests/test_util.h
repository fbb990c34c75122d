// Helpers shared by the tests: fd counting, /proc lookups, child processes that are always
// reaped.
#ifndef DMAHEAP_TESTS_TEST_UTIL_H
#define DMAHEAP_TESTS_TEST_UTIL_H

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <grp.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "dmaheap/dmaheap.h"

namespace dmaheap::testing_util {

// An embedded System with `ram_bytes` of modelled RAM; aborts the test binary if it cannot boot.
inline std::unique_ptr<System> BootSystem(uint64_t ram_bytes) {
  BootOptions options;
  options.ram_bytes = ram_bytes;
  auto sys = System::Boot(options);
  if (!sys.ok()) {
    std::fprintf(stderr, "cannot boot a System: %s\n", std::strerror(sys.error()));
    std::abort();
  }
  return std::move(sys).value();
}

// The fds of this process whose /proc link starts with `prefix`.
inline std::vector<int> FdsWithTarget(const std::string& prefix) {
  std::vector<int> out;
  DIR* d = opendir("/proc/self/fd");
  if (d == nullptr) return out;
  while (dirent* e = readdir(d)) {
    if (e->d_name[0] == '.') continue;
    int fd = std::atoi(e->d_name);
    if (fd == dirfd(d)) continue;
    char path[64], target[256];
    std::snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    ssize_t n = readlink(path, target, sizeof(target) - 1);
    if (n <= 0) continue;
    target[n] = '\0';
    if (std::strncmp(target, prefix.c_str(), prefix.size()) == 0) out.push_back(fd);
  }
  closedir(d);
  return out;
}

inline std::vector<int> BufferFds() { return FdsWithTarget("/memfd:dmaheap:"); }

// A forked child that runs `body` and _exits with its return value. The destructor kills and
// reaps a child the test did not wait for, so no process outlives a failed test.
class Child {
 public:
  explicit Child(const std::function<int()>& body) {
    pid_ = fork();
    if (pid_ == 0) {
      int rc = 111;
      try {
        rc = body();
      } catch (...) {
      }
      _exit(rc);
    }
  }
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  ~Child() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  pid_t pid() const { return pid_; }
  // The exit code, or 128 + signal.
  int Wait() {
    int status = 0;
    if (pid_ <= 0 || waitpid(pid_, &status, 0) != pid_) return -1;
    pid_ = -1;
    if (WIFEXITED(status)) return WEXITSTATUS(status);
    return 128 + WTERMSIG(status);
  }

 private:
  pid_t pid_ = -1;
};

// A board booted in this process; a failure fails the test.
inline std::unique_ptr<System> BootBoard(const std::string& board) {
  BootOptions options;
  options.board = board;
  auto sys = System::Boot(options);
  EXPECT_TRUE(sys.ok()) << board << ": " << sys.error();
  return sys.ok() ? std::move(sys).value() : nullptr;
}

// Sets environment variables for one scope; restores them after.
class ScopedEnv {
 public:
  explicit ScopedEnv(std::initializer_list<std::pair<std::string, const char*>> vars) {
    for (auto& [k, v] : vars) {
      const char* old = getenv(k.c_str());
      saved_.emplace_back(k, old != nullptr ? std::optional<std::string>(old) : std::nullopt);
      if (v != nullptr) setenv(k.c_str(), v, 1); else unsetenv(k.c_str());
    }
  }
  ScopedEnv(const ScopedEnv&) = delete;
  ScopedEnv& operator=(const ScopedEnv&) = delete;
  ~ScopedEnv() {
    for (auto& [k, v] : saved_) {
      if (v) setenv(k.c_str(), v->c_str(), 1); else unsetenv(k.c_str());
    }
  }

 private:
  std::vector<std::pair<std::string, std::optional<std::string>>> saved_;
};

// In a forked child: drops to an unprivileged uid/gid (kTestUid) that exists nowhere else on
// the machine.
inline constexpr uid_t kTestUid = 54321;
inline bool DropPrivileges() {
  return setgroups(0, nullptr) == 0 && setresgid(kTestUid, kTestUid, kTestUid) == 0 &&
         setresuid(kTestUid, kTestUid, kTestUid) == 0;
}

}  // namespace dmaheap::testing_util

#endif  // DMAHEAP_TESTS_TEST_UTIL_H
