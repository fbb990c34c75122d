// dmaheapd: serves /dev/dma_heap-style heaps from one System over Unix sockets.
//
//   dmaheapd [--config FILE] [--board NAME|PATH] [--foreground] [--heap-mode NAME=MODE[:GROUP]]...
//
// Every option can also be set in the configuration file (root's default DMAHEAP_CONFIG_PATH,
// /etc/dmaheap/dmaheapd.conf for a /usr install; packaging/dmaheapd.conf documents it): one
// `name = value` a line, the option's name without its dashes, repeatable options as a list
// `["a", "b"]` or as repeated lines. CLI11 reads it; an option given on the command line
// replaces the file's value. An unknown name is refused with the file's line.
//
// Readiness: sd_notify("READY=1") once every heap socket is served (systemd Type=notify; any
// supervisor can set NOTIFY_SOCKET). Without --foreground the daemon detaches after it is ready.

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <systemd/sd-daemon.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include "dmaheap/version.h"
#include "ipc/paths.h"
#include "mm/cma_trace.h"
#include "platform/fault.h"
#include "service/message_log.h"
#include "service/server.h"
#include "system/system_core.h"

namespace {

int Fail(const std::string& what, int err) {
  std::fprintf(stderr, "dmaheapd: %s: %s\n", what.c_str(), std::strerror(err));
  return 1;
}

// `mkdir -p` of the directories above `path` (0755: unprivileged clients must reach the sockets
// of a world-accessible heap), so DMAHEAP_DIR=/tmp/a/b/h works as given. False, said, when one
// cannot be made.
bool MakeParents(const std::string& path) {
  for (size_t slash = path.find('/', 1); slash != std::string::npos;
       slash = path.find('/', slash + 1)) {
    const std::string dir = path.substr(0, slash);
    if (mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) {
      std::fprintf(stderr, "dmaheapd: cannot make %s (for %s): %s\n", dir.c_str(), path.c_str(),
                   std::strerror(errno));
      return false;
    }
  }
  return true;
}

// The system daemon's file (root), or the user's own daemon's: $XDG_CONFIG_HOME/dmaheap/ or
// ~/.config/dmaheap/ — a user's daemon does not take the system's limits and heap modes.
std::string DefaultConfigPath() {
  if (geteuid() == 0) return DMAHEAP_CONFIG_PATH;
  if (const char* xdg = std::getenv("XDG_CONFIG_HOME"); xdg != nullptr && xdg[0] == '/') {
    return std::string(xdg) + "/dmaheap/dmaheapd.conf";
  }
  const char* home = std::getenv("HOME");
  return std::string(home != nullptr ? home : "") + "/.config/dmaheap/dmaheapd.conf";
}

// The line of `file` that sets `name` (CLI11 names the setting, not where it is), or 0.
int LineOf(const std::string& file, const std::string& name) {
  std::ifstream in(file);
  int number = 0;
  for (std::string line; std::getline(in, line);) {
    ++number;
    const size_t start = line.find_first_not_of(" \t");
    if (start != std::string::npos && line.compare(start, name.size(), name) == 0) {
      const size_t after = line.find_first_not_of(" \t", start + name.size());
      if (after != std::string::npos && line[after] == '=') return number;
    }
  }
  return 0;
}

// The name in CLI11's "Could not convert: --name = value" (or ": --name: ..." ), or "".
std::string OptionNamed(const std::string& what) {
  const size_t dashes = what.find("--");
  if (dashes == std::string::npos) return "";
  const size_t end = what.find_first_of(" =:", dashes + 2);
  return what.substr(dashes + 2, end == std::string::npos ? std::string::npos : end - dashes - 2);
}

bool OnCommandLine(const std::string& name, int argc, char** argv) {
  const std::string flag = "--" + name;
  for (int i = 1; i < argc; ++i) {
    if (argv[i] == flag || std::strncmp(argv[i], (flag + "=").c_str(), flag.size() + 1) == 0) {
      return true;
    }
  }
  return false;
}

// An error of the configuration file, said as `dmaheapd: FILE:LINE: what`; returns 2. -1 when
// the error is the command line's (CLI11 then says it).
int ConfigFailed(const CLI::App& app, const CLI::ParseError& e, int argc, char** argv) {
  const CLI::Option* config = app.get_config_ptr();
  std::string file = config->empty() ? DefaultConfigPath() : config->as<std::string>();
  std::string what = e.what(), name;
  const std::string unknown = "INI was not able to parse ";
  if (dynamic_cast<const CLI::FileError*>(&e) != nullptr && !config->empty()) {
    std::fprintf(stderr, "dmaheapd: --config %s: cannot be read\n", file.c_str());
    return 2;
  }
  if (what.compare(0, unknown.size(), unknown) == 0) {
    name = what.substr(unknown.size());
    what = name + ": not a dmaheapd setting (dmaheapd --help lists them)";
  } else {
    name = OptionNamed(what);
    if (name.empty() || OnCommandLine(name, argc, argv)) return -1;
  }
  const int line = LineOf(file, name);
  if (line == 0) return -1;
  std::fprintf(stderr, "dmaheapd: %s:%d: %s\n", file.c_str(), line, what.c_str());
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"dmaheapd: DMA-BUF heaps served from user space"};
  app.set_version_flag("--version", "dmaheapd " DMAHEAP_VERSION_STRING);
  std::string board = "default";
  bool foreground = false;
  std::vector<std::string> heap_modes;
  app.add_option("--board", board,
                 "board to boot: a NAME on $DMAHEAP_BOARD_PATH / dmaheap/boards, or a .dtb path");
  app.add_flag("--foreground", foreground, "stay in the foreground, log to stderr");
  app.add_option("--heap-mode", heap_modes, "socket mode of a heap: NAME=MODE[:GROUP]");
  std::string uid_limit;
  app.add_option("--uid-limit", uid_limit,
                 "most bytes of live buffers one uid may hold (root included), e.g. 512M");
  std::vector<std::string> heap_limits;
  app.add_option("--heap-limit", heap_limits, "most bytes of live buffers in a heap: NAME=SIZE");
  std::vector<unsigned> exempt;
  app.add_option("--exempt-uid", exempt, "a uid the default limits do not apply to (repeatable)");
  std::string default_bytes;
  app.add_option("--default-uid-limit", default_bytes,
                 "bytes each uid but root may hold (default: half the modelled memory)");
  uint64_t default_buffers = 0, default_connections = 0;
  app.add_option("--default-uid-buffers", default_buffers,
                 "live buffers each uid but root may hold (default: max_user_watches / 8)")
      ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 40));
  app.add_option("--default-uid-connections", default_connections,
                 "connections each uid but root may hold (default: the fd limit / 16)")
      ->check(CLI::Range(uint64_t{1}, uint64_t{1} << 40));
  std::string modules_file;
  app.add_option("--modules", modules_file,
                 "modules to load at start, one name a line (default: the board's modules.load)");
  std::string record;
  app.add_option("--record", record,
                 "write the CMA areas' cma_alloc/cma_release events to FILE, in the kernel's "
                 "ftrace format (dmaheap replay reads it)");
  std::vector<std::string> load;
  app.add_option("--load", load,
                 "a module to load at start (repeatable; instead of the board's modules.load)");
  app.set_config("--config", DefaultConfigPath(),
                 "configuration file: option = value lines (read when it exists)");
  app.allow_config_extras(CLI::config_extras_mode::error);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (const int rc = ConfigFailed(app, e, argc, argv); rc >= 0) return rc;
    return app.exit(e) == 0 ? 0 : 2;  // --help is success; every usage error is 2, as the tool's
  }

  if (std::string why; !dmaheap::sys::FaultsValid(&why)) {
    std::fprintf(stderr, "dmaheapd: not starting without the faults DMAHEAP_FAULT asks for\n");
    return 2;
  }

  // The board is read and its memory placed before anything starts: a bad board is refused
  // here, on the caller's terminal, with the message naming what is wrong.
  std::vector<std::string> boot_log;
  auto board_config = dmaheap::SystemCore::ConfigForBoard(board, &boot_log);
  if (!board_config.ok()) return 2;
  dmaheap::ServerConfig config;
  auto dir = dmaheap::HeapDirPath();
  if (!dir.ok()) {
    std::fprintf(stderr,
                 "dmaheapd: no heap directory: set DMAHEAP_DIR or XDG_RUNTIME_DIR (non-root)\n");
    return 2;
  }
  config.heap_dir = *dir;
  config.control_path = std::move(dmaheap::ControlSocketPath()).value();
  config.device_path = std::move(dmaheap::DeviceSocketPath()).value();
  for (const std::string& text : heap_modes) {
    auto mode = dmaheap::ParseHeapMode(text);
    if (!mode.ok()) return 2;
    config.heap_modes[mode->first] = mode->second;
  }

  if (!uid_limit.empty()) {
    auto bytes = dmaheap::ParseLimitSize("--uid-limit", uid_limit);
    if (!bytes.ok()) return 2;
    config.limits.uid_bytes = *bytes;
  }
  uint64_t default_bytes_value = 0;
  if (!default_bytes.empty()) {
    auto bytes = dmaheap::ParseLimitSize("--default-uid-limit", default_bytes);
    if (!bytes.ok()) return 2;
    default_bytes_value = *bytes;
  }
  for (const std::string& text : heap_limits) {
    auto limit = dmaheap::ParseHeapLimit(text);
    if (!limit.ok()) return 2;
    config.limits.heap_bytes[limit->first] = limit->second;
  }

  // Opened before anything allocates, and kept for the daemon's life: every line is flushed as
  // it is written, so a crash loses nothing recorded before it.
  std::unique_ptr<dmaheap::CmaTraceRecorder> recorder;
  if (!record.empty()) {
    std::FILE* out = std::fopen(record.c_str(), "we");
    if (out == nullptr) {
      std::fprintf(stderr, "dmaheapd: --record %s: %s\n", record.c_str(), std::strerror(errno));
      return 2;
    }
    recorder = std::make_unique<dmaheap::CmaTraceRecorder>(out);
    dmaheap::CmaTraceRecorder::Install(recorder.get());
  }

  // Every option is valid: only now is anything made on disk.
  for (const std::string* path : {&config.heap_dir, &config.control_path, &config.device_path}) {
    if (!MakeParents(*path)) return 2;
  }

  // Every client connection is an fd: take the whole allowance the hard limit gives.
  rlimit nofile{};
  if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
    nofile.rlim_cur = nofile.rlim_max;
    setrlimit(RLIMIT_NOFILE, &nofile);
  }

  // SIGTERM/SIGINT are read from a signalfd by the event loop.
  sigset_t mask;
  sigemptyset(&mask);
  sigaddset(&mask, SIGTERM);
  sigaddset(&mask, SIGINT);
  sigprocmask(SIG_BLOCK, &mask, nullptr);
  signal(SIGPIPE, SIG_IGN);

  int ready_pipe[2] = {-1, -1};
  if (!foreground) {
    if (pipe2(ready_pipe, O_CLOEXEC) != 0) return Fail("pipe", errno);
    pid_t pid = fork();
    if (pid < 0) return Fail("fork", errno);
    if (pid > 0) {
      close(ready_pipe[1]);
      char status = 1;
      return read(ready_pipe[0], &status, 1) == 1 ? status : 1;
    }
    close(ready_pipe[0]);
    setsid();
  }
  // From here every message is also kept for `dmaheap dmesg` (a bad board or option was said on
  // the caller's terminal above).
  dmaheap::MessageLog::Capture();

  dmaheap::SystemConfig system_config = *board_config;
  if (!modules_file.empty()) {
    std::ifstream in(modules_file);
    if (!in) {
      std::fprintf(stderr, "dmaheapd: --modules %s: %s\n", modules_file.c_str(),
                   std::strerror(errno));
      return 2;
    }
    system_config.modules.clear();
    for (std::string line; std::getline(in, line);) {
      line = line.substr(0, line.find('#'));
      line.erase(0, line.find_first_not_of(" \t"));
      line.erase(line.find_last_not_of(" \t\r") + 1);
      if (!line.empty()) system_config.modules.push_back(line);
    }
  }
  if (!load.empty()) {
    if (!modules_file.empty()) {
      std::fprintf(stderr, "dmaheapd: --load and --modules: give one of them\n");
      return 2;
    }
    system_config.modules = load;
  }
  // Clients commit their O_RDWR buffers themselves, so the memory is charged to them.
  system_config.commit = dmaheap::CommitPolicy::kInRequester;
  auto core = dmaheap::SystemCore::Boot(system_config);
  if (!core.ok()) return Fail("boot", core.error());
  // The default per-uid limits, from this daemon's memory, watches and fds.
  {
    uint64_t watches = 8192;  // the kernel's default when the sysctl cannot be read
    if (std::ifstream in("/proc/sys/fs/inotify/max_user_watches"); in) in >> watches;
    rlimit fds{};
    getrlimit(RLIMIT_NOFILE, &fds);
    const dmaheap::LimitConfig d =
        dmaheap::DefaultLimits((*core)->pages().total_pages() * 4096, watches, fds.rlim_cur);
    config.limits.default_bytes = d.default_bytes;
    config.limits.default_buffers = default_buffers != 0 ? default_buffers : d.default_buffers;
    config.limits.default_connections =
        default_connections != 0 ? default_connections : d.default_connections;
    if (default_bytes_value != 0) config.limits.default_bytes = default_bytes_value;
    config.limits.exempt.insert(exempt.begin(), exempt.end());
  }
  auto server = dmaheap::Server::Create(**core, config);
  if (!server.ok()) return Fail("serving " + config.heap_dir, server.error());

  for (const std::string& line : boot_log) std::fprintf(stderr, "dmaheapd: %s\n", line.c_str());
  std::fprintf(stderr, "dmaheapd: serving %zu heap(s) in %s, control %s, %zu device(s) on %s\n",
               (*core)->heaps().List().size(), config.heap_dir.c_str(), config.control_path.c_str(),
               (*core)->devices().size(), config.device_path.c_str());
  sd_notify(0, "READY=1");
  if (ready_pipe[1] >= 0) {
    char ok = 0;
    (void)!write(ready_pipe[1], &ok, 1);
    close(ready_pipe[1]);
    int null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null_fd >= 0) {
      dup2(null_fd, STDIN_FILENO);
      dup2(null_fd, STDOUT_FILENO);
      close(null_fd);
    }
    // Detached: nothing more on the launcher's terminal; `dmaheap dmesg` has it all.
    dmaheap::MessageLog::Detach();
  }
  auto run = (*server)->Run();
  sd_notify(0, "STOPPING=1");
  server->reset();
  if (!run.ok()) return Fail("event loop", run.error());
  return 0;
}
