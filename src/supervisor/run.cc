// `dmaheap run` (run.h): a private daemon, CMD under the preload shim and the seccomp supervisor.

#include <dlfcn.h>
#include <elf.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "dmaheap/fd_passing.h"
#include "platform/search_path.h"
#include "supervisor/run.h"
#include "supervisor/supervisor.h"

namespace dmaheap {
namespace {

pid_t g_target = -1;
void Forward(int sig) {
  if (g_target > 0) ::kill(g_target, sig);
}

int RemoveEntry(const char* path, const struct stat*, int, FTW*) { return ::remove(path); }

// Waits for READY=1 on `notify_fd` while `pid` lives.
bool WaitReady(int notify_fd, pid_t pid) {
  for (int waited = 0; waited < 30000; waited += 100) {
    pollfd p{notify_fd, POLLIN, 0};
    if (::poll(&p, 1, 100) > 0) {
      char msg[128] = {};
      if (::recv(notify_fd, msg, sizeof(msg) - 1, 0) > 0 && std::strstr(msg, "READY=1"))
        return true;
    }
    if (::waitpid(pid, nullptr, WNOHANG) == pid) return false;
  }
  return false;
}

// The file execvp would run for `command`, or empty.
std::string ResolveProgram(const std::string& command) {
  if (command.find('/') != std::string::npos) return command;
  const char* path = ::getenv("PATH");
  std::string dirs = path != nullptr ? path : "/bin:/usr/bin";
  size_t begin = 0;
  for (;;) {
    const size_t end = dirs.find(':', begin);
    std::string dir = dirs.substr(begin, end == std::string::npos ? end : end - begin);
    std::string file = (dir.empty() ? std::string(".") : dir) + "/" + command;
    struct stat st {};
    if (::stat(file.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(file.c_str(), X_OK) == 0)
      return file;
    if (end == std::string::npos) return {};
    begin = end + 1;
  }
}

// Whether the ELF file behind `fd` (of class Ehdr/Phdr) has a PT_INTERP program header.
template <typename Ehdr, typename Phdr>
Linkage ElfLinkage(int fd) {
  Ehdr eh{};
  if (::pread(fd, &eh, sizeof(eh), 0) != static_cast<ssize_t>(sizeof(eh)) ||
      eh.e_phentsize != sizeof(Phdr)) {
    return Linkage::kUnknown;
  }
  for (unsigned i = 0; i < eh.e_phnum; ++i) {
    Phdr ph{};
    const off_t at = static_cast<off_t>(eh.e_phoff + i * sizeof(Phdr));
    if (::pread(fd, &ph, sizeof(ph), at) != static_cast<ssize_t>(sizeof(ph)))
      return Linkage::kUnknown;
    if (ph.p_type == PT_INTERP) return Linkage::kDynamic;
  }
  return Linkage::kStatic;
}

}  // namespace

Linkage ProgramLinkage(const std::string& command) {
  const std::string file = ResolveProgram(command);
  if (file.empty()) return Linkage::kUnknown;
  UniqueFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
  unsigned char ident[EI_NIDENT] = {};
  if (!fd || ::pread(fd.get(), ident, sizeof(ident), 0) != EI_NIDENT ||
      std::memcmp(ident, ELFMAG, SELFMAG) != 0) {
    return Linkage::kUnknown;
  }
  if (ident[EI_CLASS] == ELFCLASS64) return ElfLinkage<Elf64_Ehdr, Elf64_Phdr>(fd.get());
  if (ident[EI_CLASS] == ELFCLASS32) return ElfLinkage<Elf32_Ehdr, Elf32_Phdr>(fd.get());
  return Linkage::kUnknown;
}

int RunSupervised(const RunOptions& options, std::vector<std::string> command) {
  if (command.empty()) {
    std::fprintf(stderr, "dmaheap run: no command (dmaheap run [--board B] -- CMD ARGS...)\n");
    return 2;
  }
  const std::string& board = options.board;
  bool sanitize = !options.sanitize.empty();
  if (sanitize && ProgramLinkage(command[0]) == Linkage::kStatic) {
    std::fprintf(stderr,
                 "dmaheap run: %s is statically linked: it runs without the sync sanitizer (it "
                 "needs the preload shim; the seccomp supervisor sees system calls, not memory "
                 "accesses)\n",
                 command[0].c_str());
    sanitize = false;
  }
  // A short private directory: socket paths must fit 108 bytes.
  char tmpl[] = "/tmp/dh.XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) {
    std::perror("dmaheap run: mkdtemp");
    return 1;
  }
  const std::string root = tmpl;
  ::chmod(root.c_str(), 0755);
  // The device socket where the supervisor looks for it ("<heap dir>.dev"), whatever the
  // caller's DMAHEAP_DEVICES says.
  const std::string dir = root + "/h", control = root + "/h.ctl", devices = root + "/h.dev",
                    notify = root + "/n";
  const std::string daemon_path = ProgramDir() + "/dmaheapd";
  const std::string shim_path = FindInPath(CoreLibDirs(), "libdmaheap_preload.so");
  if (shim_path.empty()) {
    std::fprintf(stderr, "dmaheap run: libdmaheap_preload.so not found beside the core\n");
    return 1;
  }

  UniqueFd notify_sock(::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strcpy(addr.sun_path, notify.c_str());
  ::bind(notify_sock.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr));

  auto cleanup = [&] { ::nftw(root.c_str(), RemoveEntry, 8, FTW_DEPTH | FTW_PHYS); };
  const pid_t parent = ::getpid();
  pid_t daemon = ::fork();
  if (daemon == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != parent) _exit(1);
    ::setenv("DMAHEAP_DIR", dir.c_str(), 1);
    ::setenv("DMAHEAP_CONTROL", control.c_str(), 1);
    ::setenv("DMAHEAP_DEVICES", devices.c_str(), 1);
    ::setenv("NOTIFY_SOCKET", notify.c_str(), 1);
    ::execl(daemon_path.c_str(), daemon_path.c_str(), "--foreground", "--board", board.c_str(),
            nullptr);
    std::fprintf(stderr, "dmaheap run: cannot start %s: %s\n", daemon_path.c_str(),
                 std::strerror(errno));
    _exit(127);
  }
  auto stop_daemon = [&] {
    if (daemon > 0) {
      ::kill(daemon, SIGTERM);
      ::waitpid(daemon, nullptr, 0);
    }
    cleanup();
  };
  if (daemon < 0 || !WaitReady(notify_sock.get(), daemon)) {
    std::fprintf(stderr, "dmaheap run: the private daemon did not start\n");
    stop_daemon();
    return 1;
  }

  int sv[2];
  ::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv);
  g_target = ::fork();
  if (g_target == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    ::setenv("DMAHEAP_DIR", dir.c_str(), 1);
    ::setenv("DMAHEAP_CONTROL", control.c_str(), 1);
    ::setenv("DMAHEAP_DEVICES", devices.c_str(), 1);
    std::string preload = shim_path;
    if (const char* old = ::getenv("LD_PRELOAD"); old != nullptr && *old != '\0')
      preload += std::string(":") + old;
    ::setenv("LD_PRELOAD", preload.c_str(), 1);
    if (sanitize) ::setenv("DMAHEAP_SANITIZE", options.sanitize.c_str(), 1);
    Result<int> filter = InstallSupervisedFilter();
    if (!filter.ok()) {
      std::fprintf(stderr, "dmaheap run: seccomp filter: %s\n", std::strerror(filter.error()));
      _exit(126);
    }
    char tag = 'n';
    if (!SendFd(sv[1], *filter, &tag, 1).ok()) _exit(126);
    ::close(*filter);
    std::vector<char*> argv;
    for (auto& a : command) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execvp(argv[0], argv.data());
    std::fprintf(stderr, "dmaheap run: %s: %s\n", argv[0], std::strerror(errno));
    _exit(127);
  }
  ::close(sv[1]);
  ::signal(SIGINT, Forward);
  ::signal(SIGTERM, Forward);
  ::signal(SIGHUP, Forward);
  char tag;
  Result<ReceivedFd> notify_fd = RecvFd(sv[0], &tag, 1);
  ::close(sv[0]);
  if (notify_fd.ok() && notify_fd->fd) {
    UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, g_target, 0)));
    (void)Supervise(notify_fd->fd.get(), pidfd.get(), dir);
  }
  int status = 0;
  while (::waitpid(g_target, &status, 0) < 0 && errno == EINTR) {
  }
  stop_daemon();
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return 1;
}

}  // namespace dmaheap
