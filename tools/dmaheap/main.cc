// dmaheap: the command-line tool.
//   dmaheap run [--board B] -- CMD ARGS...   run CMD against a private daemon (shim + seccomp)
//   dmaheap stats | barrier | bufinfo         ask the running daemon (control socket, root)
//   dmaheap insmod PATH | rmmod NAME | modprobe NAME | lsmod | modinfo NAME   its modules
//   dmaheap cma [--board B]                   CMA areas (the daemon's, or a freshly booted B)
//   dmaheap board NAME|FILE                   what a board declares, placed, before booting it

#include <dlfcn.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "board/board.h"
#include "client/transport.h"
#include "core/kernel.h"
#include "dmaheap/dmaheap.h"
#include "dmaheap/fd_passing.h"
#include "service/paths.h"
#include "supervisor.h"

namespace dmaheap {
namespace {

std::string DirOf(const std::string& path) { return path.substr(0, path.rfind('/')); }

std::string SelfDir() {
  char buf[4096];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  if (n <= 0) return ".";
  buf[n] = '\0';
  return DirOf(buf);
}

// Data lives beside libdmaheap.so, wherever it is installed (or in the build tree).
std::string LibDir() {
  Dl_info info{};
  if (::dladdr(reinterpret_cast<void*>(&BufferIoctl), &info) == 0 || info.dli_fname == nullptr)
    return SelfDir();
  char real[4096];
  if (::realpath(info.dli_fname, real) == nullptr) return SelfDir();
  return DirOf(real);
}

int ControlCommand(Op op, const char* what, const std::string& arg = {}) {
  auto path = ControlSocketPath();
  if (!path.ok()) {
    std::fprintf(stderr, "dmaheap %s: no control socket: set DMAHEAP_DIR or DMAHEAP_CONTROL\n", what);
    return 1;
  }
  auto sock = ConnectSocket(*path);
  if (!sock.ok()) {
    std::fprintf(stderr, "dmaheap %s: cannot reach the daemon at %s: %s\n", what, path->c_str(),
                 std::strerror(sock.error()));
    return 1;
  }
  auto reply = Call(sock->get(), op, 0, arg.data(), arg.size());
  if (!reply.ok() || reply->status != 0) {
    const char* err = std::strerror(reply.ok() ? reply->status : reply.error());
    if (op == Op::kRmmod) {
      std::fprintf(stderr, "dmaheap rmmod: could not remove module %s: %s\n", arg.c_str(), err);
    } else if (op == Op::kInsmod || op == Op::kModprobe) {
      std::fprintf(stderr, "dmaheap %s: could not insert module %s: %s (the daemon's log says why)\n",
                   what, arg.c_str(), err);
    } else if (op == Op::kModinfo) {
      std::fprintf(stderr, "dmaheap modinfo: ERROR: Module %s not found.\n", arg.c_str());
    } else {
      std::fprintf(stderr, "dmaheap %s: %s\n", what, err);
    }
    return 1;
  }
  std::fwrite(reply->data.data(), 1, reply->data.size(), stdout);
  return 0;
}

// The daemon's CMA areas; with --board (or no daemon to ask) those of that board freshly booted
// here.
int CmaCommand(const std::string& board, bool board_given, bool bitmap) {
  if (!board_given) {
    auto path = ControlSocketPath();
    auto sock = path.ok() ? ConnectSocket(*path) : Result<UniqueFd>(Errno(ENOENT));
    if (sock.ok()) {
      const std::string arg = bitmap ? "bitmap" : "";
      auto reply = Call(sock->get(), Op::kCma, 0, arg.data(), arg.size());
      if (!reply.ok() || reply->status != 0) {
        std::fprintf(stderr, "dmaheap cma: %s\n",
                     std::strerror(reply.ok() ? reply->status : reply.error()));
        return 1;
      }
      std::fwrite(reply->data.data(), 1, reply->data.size(), stdout);
      return 0;
    }
    std::fprintf(stderr, "dmaheap cma: no daemon to ask (%s); showing board '%s' as booted\n",
                 std::strerror(sock.error()), board.c_str());
  }
  auto config = Kernel::ConfigForBoard(board);
  if (!config.ok()) return 1;
  auto kernel = Kernel::Boot(*config);
  if (!kernel.ok()) {
    std::fprintf(stderr, "dmaheap cma: board %s does not boot: %s\n", board.c_str(),
                 std::strerror(kernel.error()));
    return 1;
  }
  const std::string text = CmaDebugfsText((*kernel)->reserved(), bitmap);
  std::fwrite(text.data(), 1, text.size(), stdout);
  return 0;
}

int BoardCommand(const std::string& name_or_path) {
  auto board = LoadBoard(name_or_path);
  if (!board.ok()) return 1;
  std::vector<std::string> log;
  auto placed = PlaceReservedMemory(*board, &log);
  if (!placed.ok()) return 1;
  const std::string text = DescribeBoard(*board, *placed, log);
  std::fwrite(text.data(), 1, text.size(), stdout);
  return 0;
}

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

int Run(const std::string& board, std::vector<std::string> command) {
  if (command.empty()) {
    std::fprintf(stderr, "dmaheap run: no command (dmaheap run [--board B] -- CMD ARGS...)\n");
    return 2;
  }
  // A short private directory: socket paths must fit 108 bytes.
  char tmpl[] = "/tmp/dh.XXXXXX";
  if (::mkdtemp(tmpl) == nullptr) {
    std::perror("dmaheap run: mkdtemp");
    return 1;
  }
  const std::string root = tmpl;
  ::chmod(root.c_str(), 0755);
  const std::string dir = root + "/h", control = root + "/h.ctl", notify = root + "/n";
  const std::string daemon_path = SelfDir() + "/dmaheapd";
  const std::string shim_path = LibDir() + "/libdmaheap_preload.so";

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
    std::string preload = shim_path;
    if (const char* old = ::getenv("LD_PRELOAD"); old != nullptr && *old != '\0')
      preload += std::string(":") + old;
    ::setenv("LD_PRELOAD", preload.c_str(), 1);
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

}  // namespace
}  // namespace dmaheap

int main(int argc, char** argv) {
  CLI::App app{"dmaheap: DMA-BUF heaps in user space"};
  app.require_subcommand(1);
  std::string board = "default";
  std::vector<std::string> command;
  CLI::App* run = app.add_subcommand("run", "run a command against a private daemon");
  run->add_option("--board", board, "board of the private daemon");
  run->add_option("command", command, "the command and its arguments (after --)");
  run->prefix_command();
  CLI::App* stats = app.add_subcommand("stats", "per-heap memory and buffers of the daemon");
  CLI::App* barrier = app.add_subcommand("barrier", "wait until queued releases are processed");
  CLI::App* bufinfo = app.add_subcommand("bufinfo", "the daemon's bufinfo (kernel debugfs format)");
  std::string module_arg;
  CLI::App* insmod = app.add_subcommand("insmod", "load a heap module file into the daemon");
  insmod->add_option("path", module_arg, "module file (.so)")->required();
  CLI::App* rmmod = app.add_subcommand("rmmod", "unload a heap module from the daemon");
  rmmod->add_option("name", module_arg, "module name")->required();
  CLI::App* modprobe = app.add_subcommand("modprobe", "load a heap module by name");
  modprobe->add_option("name", module_arg, "module name")->required();
  CLI::App* lsmod = app.add_subcommand("lsmod", "the daemon's modules, /proc/modules format");
  CLI::App* modinfo = app.add_subcommand("modinfo", "what a module declares");
  modinfo->add_option("name", module_arg, "module name or file")->required();
  std::string cma_board = "default";
  CLI::App* cma = app.add_subcommand("cma", "CMA areas: debugfs values and a map of each bitmap");
  CLI::Option* cma_board_opt =
      cma->add_option("--board", cma_board, "show this board freshly booted, not the daemon's");
  bool cma_bitmap = false;
  cma->add_flag("--bitmap", cma_bitmap, "also debugfs's bitmap file (u32 words, decimal)");
  std::string board_arg;
  CLI::App* board_cmd = app.add_subcommand("board", "what a board declares, before booting it");
  board_cmd->add_option("board", board_arg, "board name or .dtb file")->required();
  CLI11_PARSE(app, argc, argv);
  if (*cma) return dmaheap::CmaCommand(cma_board, cma_board_opt->count() > 0, cma_bitmap);
  if (*board_cmd) return dmaheap::BoardCommand(board_arg);
  if (*run) {
    std::vector<std::string> rest = run->remaining();
    command.insert(command.end(), rest.begin(), rest.end());
    return dmaheap::Run(board, command);
  }
  if (*stats) return dmaheap::ControlCommand(dmaheap::Op::kStats, "stats");
  if (*barrier) return dmaheap::ControlCommand(dmaheap::Op::kBarrier, "barrier");
  if (*bufinfo) return dmaheap::ControlCommand(dmaheap::Op::kBufInfo, "bufinfo");
  if (*insmod) {
    // The daemon opens the file: give it an absolute path.
    char real[4096];
    if (::realpath(module_arg.c_str(), real) == nullptr) {
      std::fprintf(stderr, "dmaheap insmod: ERROR: could not load module %s: %s\n",
                   module_arg.c_str(), std::strerror(errno));
      return 1;
    }
    return dmaheap::ControlCommand(dmaheap::Op::kInsmod, "insmod", real);
  }
  if (*rmmod) return dmaheap::ControlCommand(dmaheap::Op::kRmmod, "rmmod", module_arg);
  if (*modprobe) return dmaheap::ControlCommand(dmaheap::Op::kModprobe, "modprobe", module_arg);
  if (*lsmod) return dmaheap::ControlCommand(dmaheap::Op::kLsmod, "lsmod");
  if (*modinfo) return dmaheap::ControlCommand(dmaheap::Op::kModinfo, "modinfo", module_arg);
  return 2;
}
