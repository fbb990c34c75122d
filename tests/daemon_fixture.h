// A private dmaheapd for one test: its own heap directory under /tmp/dh.XXXXXX, started with
// NOTIFY_SOCKET so the test waits for the real readiness signal (sd_notify READY=1) instead of
// sleeping, and always stopped (SIGTERM, then SIGKILL) and reaped — also when the test fails.
#ifndef DMAHEAP_TESTS_DAEMON_FIXTURE_H
#define DMAHEAP_TESTS_DAEMON_FIXTURE_H

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "ipc/transport.h"
#include "dmaheap/unique_fd.h"
#include "platform/sys.h"
#include "ipc/protocol.h"

extern char** environ;

namespace dmaheap::testing_util {

// Runs `argv` with the current environment plus `env`, waits for it and returns its exit code
// (128 + signal when killed); stdout+stderr go to *output when given.
inline int RunProgram(const std::vector<std::string>& argv,
                      const std::map<std::string, std::string>& env, std::string* output = nullptr,
                      int timeout_ms = 60000) {
  std::vector<std::string> envs;
  for (char** e = environ; *e != nullptr; ++e) {
    std::string kv(*e);
    if (env.count(kv.substr(0, kv.find('='))) == 0) envs.push_back(kv);
  }
  for (const auto& [k, v] : env) envs.push_back(k + "=" + v);
  std::vector<char*> cargv, cenv;
  for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
  cargv.push_back(nullptr);
  for (const auto& e : envs) cenv.push_back(const_cast<char*>(e.c_str()));
  cenv.push_back(nullptr);
  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0) return -1;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, out[1], 1);
  posix_spawn_file_actions_adddup2(&fa, out[1], 2);
  pid_t pid = -1;
  int rc = posix_spawn(&pid, cargv[0], &fa, nullptr, cargv.data(), cenv.data());
  posix_spawn_file_actions_destroy(&fa);
  close(out[1]);
  if (rc != 0) {
    close(out[0]);
    return -1;
  }
  std::string text;
  char buf[4096];
  for (;;) {
    pollfd p{out[0], POLLIN, 0};
    if (poll(&p, 1, timeout_ms) <= 0) {
      kill(pid, SIGKILL);
      break;
    }
    ssize_t n = read(out[0], buf, sizeof(buf));
    if (n <= 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  close(out[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (output != nullptr) *output = text;
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

// The fds a process holds (its /proc/PID/fd entries, "." and ".." included: compare counts).
inline size_t FdCount(pid_t pid) {
  size_t n = 0;
  if (DIR* d = opendir(("/proc/" + std::to_string(pid) + "/fd").c_str())) {
    while (readdir(d) != nullptr) ++n;
    closedir(d);
  }
  return n;
}

// A process's VmRSS in kB; -1 when it is gone.
inline long RssKb(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(f, line);) {
    if (line.rfind("VmRSS:", 0) == 0) return std::atol(line.c_str() + 6);
  }
  return -1;
}

class Daemon {
 public:
  // `extra_args` go to dmaheapd after --foreground.
  // `before_start` runs with the heap directory's path before the daemon starts.
  // `launcher` is prepended to the command line (e.g. prlimit, which execs the daemon).
  explicit Daemon(std::vector<std::string> extra_args = {},
                  const std::function<void(const std::string&)>& before_start = nullptr,
                  std::vector<std::string> launcher = {}) {
    launcher_ = std::move(launcher);
    char tmpl[] = "/tmp/dh.XXXXXX";
    root_ = mkdtemp(tmpl);
    chmod(root_.c_str(), 0755);  // unprivileged test clients must reach the sockets
    dir_ = root_ + "/h";
    control_ = root_ + "/h.ctl";
    if (before_start) before_start(dir_);
    args_ = std::move(extra_args);
    Start();
  }
  Daemon(const Daemon&) = delete;
  Daemon& operator=(const Daemon&) = delete;
  ~Daemon() {
    Stop();
    std::string cmd = "rm -rf '" + root_ + "'";
    (void)!system(cmd.c_str());
  }

  // SIGTERM and wait; returns the exit code.
  int Stop() {
    if (pid_ <= 0) return exit_code_;
    kill(pid_, SIGTERM);
    int status = 0;
    for (int i = 0; i < 100; ++i) {
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        return exit_code_;
      }
      pollfd none{-1, 0, 0};
      poll(&none, 0, 50);
    }
    kill(pid_, SIGKILL);
    waitpid(pid_, &status, 0);
    pid_ = -1;
    exit_code_ = 137;
    return exit_code_;
  }

  // SIGKILL and reap, as a crash: whatever the daemon made stays behind.
  void Kill() {
    if (pid_ <= 0) return;
    kill(pid_, SIGKILL);
    waitpid(pid_, nullptr, 0);
    pid_ = -1;
    exit_code_ = 137;
  }

  // Starts (again) on the same directories; true once READY=1 arrived.
  bool Start() {
    ready_ = false;
    std::vector<std::string> extra_args = args_;
    const std::string notify = root_ + "/notify";
    UniqueFd notify_sock(socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strcpy(addr.sun_path, notify.c_str());
    bind(notify_sock.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr));

    std::vector<std::string> argv = launcher_;
    argv.push_back(DMAHEAPD_PATH);
    argv.push_back("--foreground");
    argv.insert(argv.end(), extra_args.begin(), extra_args.end());
    std::vector<std::string> envs;
    for (char** e = environ; *e != nullptr; ++e) envs.emplace_back(*e);
    envs.push_back("DMAHEAP_DIR=" + dir_);
    envs.push_back("DMAHEAP_CONTROL=" + control_);
    envs.push_back("NOTIFY_SOCKET=" + notify);
    std::vector<char*> cargv, cenv;
    for (auto& a : argv) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    for (auto& e : envs) cenv.push_back(e.data());
    cenv.push_back(nullptr);
    if (posix_spawn(&pid_, cargv[0], nullptr, nullptr, cargv.data(), cenv.data()) != 0) {
      pid_ = -1;
      return false;
    }
    // Wait for READY=1, or for the daemon to die.
    for (int waited = 0; waited < 20000; waited += 100) {
      pollfd p{notify_sock.get(), POLLIN, 0};
      if (poll(&p, 1, 100) > 0) {
        char msg[256] = {};
        if (recv(notify_sock.get(), msg, sizeof(msg) - 1, 0) > 0 && std::strstr(msg, "READY=1")) {
          ready_ = true;
          break;
        }
      }
      int status;
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        pid_ = -1;
        exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        break;
      }
    }
    unlink(notify.c_str());
    return ready_;
  }

  bool ready() const { return ready_; }
  pid_t pid() const { return pid_; }
  const std::string& dir() const { return dir_; }
  const std::string& control() const { return control_; }
  std::map<std::string, std::string> Env() const {
    return {{"DMAHEAP_DIR", dir_}, {"DMAHEAP_CONTROL", control_}};
  }

  // A control-socket request; the reply's text (stats, bufinfo) or empty.
  std::string Control(Op op, int* status = nullptr) const {
    auto sock = ConnectSocket(control_);
    if (!sock.ok()) {
      if (status != nullptr) *status = sock.error();
      return {};
    }
    auto reply = Call(sock->get(), op, 0, nullptr, 0);
    if (status != nullptr) *status = reply.ok() ? reply->status : reply.error();
    if (!reply.ok()) return {};
    return std::string(reply->data.begin(), reply->data.end());
  }

  // The number after `key` on the stats line starting with `line`, e.g. ("memory", "free_pages").
  long Stat(const std::string& line, const std::string& key) const {
    std::string text = "\n" + Control(Op::kStats);
    size_t at = text.find("\n" + line + " ");  // a line that starts so
    if (at == std::string::npos) return -1;
    ++at;
    size_t end = text.find('\n', at);
    std::string l = text.substr(at, end - at);
    size_t k = l.find(" " + key + " ");
    if (k == std::string::npos) return -1;
    return std::atol(l.c_str() + k + key.size() + 2);
  }

  // Memfd buffer fds the daemon holds (it must hold none).
  int BufferFdsHeld() const { return FdsHeld("memfd:dmaheap"); }

  // The daemon's fds whose /proc link contains `pattern`.
  int FdsHeld(const std::string& pattern) const {
    std::string cmd = "ls -l /proc/" + std::to_string(pid_) + "/fd 2>/dev/null | grep -c '" +
                      pattern + "'";
    FILE* f = popen(cmd.c_str(), "r");
    int n = -1;
    if (f != nullptr) {
      if (fscanf(f, "%d", &n) != 1) n = -1;
      pclose(f);
    }
    return n;
  }

 private:
  std::string root_, dir_, control_;
  std::vector<std::string> args_;
  std::vector<std::string> launcher_;
  pid_t pid_ = -1;
  bool ready_ = false;
  int exit_code_ = -1;
};

// One ALLOC through the daemon, as the shim does it: the argument's bytes out, the reply's
// bytes and fd back, O_RDWR memory committed here.
inline Result<UniqueFd> DaemonAlloc(int heap_sock, uint64_t len, uint32_t fd_flags = O_RDWR | O_CLOEXEC) {
  struct {
    uint64_t len;
    uint32_t fd, fd_flags;
    uint64_t heap_flags;
  } data{len, 0, fd_flags, 0};
  auto reply = Call(heap_sock, Op::kHeapIoctl, 0xC0184800u, &data, sizeof(data));
  if (!reply.ok()) return Errno(reply.error());
  if (reply->status != 0) return Errno(reply->status);
  if (!reply->fd) return Errno(EBADMSG);
  if ((fd_flags & O_ACCMODE) == O_RDWR) {
    struct stat st {};
    fstat(reply->fd.get(), &st);
    auto committed = sys::Fallocate(reply->fd.get(), static_cast<uint64_t>(st.st_size));
    if (!committed.ok()) return Errno(committed.error());
  }
  return std::move(reply->fd);
}

}  // namespace dmaheap::testing_util

#endif  // DMAHEAP_TESTS_DAEMON_FIXTURE_H
