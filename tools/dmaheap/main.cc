// dmaheap: the command-line tool.
//   dmaheap run [--board B] [--sanitize=sync[:continue]] -- CMD ARGS...   run CMD against a
//                                             private daemon (shim + seccomp)
//   dmaheap heaps | alloc HEAP SIZE [--hold]  the heaps (kernel, daemon or embedded), one buffer
//   dmaheap bufinfo | dump [-a|-b] [PID]      buffers: the exporter's view, the holders' view
//   dmaheap lsmod | modinfo NAME | cma         the daemon's (else a freshly booted board's)
//   dmaheap insmod PATH | rmmod NAME | modprobe NAME | stats | barrier | dmesg   the daemon's
//   dmaheap board NAME|FILE | doctor          a board before booting it; what this machine does
//   dmaheap replay TRACE --board B            CMA sizing: replay a trace of cma events
//   dmaheap top [--once]                      the heaps live
//   dmaheap devices | attach --heap H --device D SIZE | alloc --for D1,D2 SIZE   devices
// Exit codes: 0 done, 1 failed (the message says why), 2 usage.

#include <stdlib.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "commands.h"
#include "dmaheap/version.h"
#include "supervisor/run.h"

int main(int argc, char** argv) {
  CLI::App app{"dmaheap: DMA-BUF heaps in user space"};
  app.set_version_flag("--version", "dmaheap " DMAHEAP_VERSION_STRING);
  app.require_subcommand(1);
  dmaheap::ViewOptions view;
  // --json and --board for the read-only views.
  auto add_view = [&view](CLI::App* cmd, bool with_board) {
    cmd->add_flag("--json", view.json, "print JSON");
    if (with_board) {
      cmd->add_option("--board", view.board, "show this board booted here, not the daemon's");
    }
  };

  dmaheap::RunOptions run_options;
  std::vector<std::string> command;
  CLI::App* run = app.add_subcommand("run", "run a command against a private daemon");
  run->add_option("--board", run_options.board, "board of the private daemon");
  // The values DMAHEAP_SANITIZE takes (the shim's sanitizer_rules.h ParseOptions).
  run->add_option("--sanitize", run_options.sanitize,
                  "sync: report CPU access to buffer mappings outside DMA_BUF_IOCTL_SYNC "
                  "brackets, exit 23 if any (sync:continue keeps CMD's exit status)")
      ->check(CLI::IsMember({"sync", "sync:continue"}));
  // The command itself is split off before parsing (below): this entry only documents it.
  std::vector<std::string> run_usage;
  run->add_option("command", run_usage, "the command and its arguments, exactly as given");

  CLI::App* heaps = app.add_subcommand("heaps", "the heaps: the kernel's, the daemon's, or a "
                                                "board's booted here");
  add_view(heaps, true);
  std::vector<std::string> alloc_args;
  std::string alloc_for, alloc_board;
  bool hold = false, alloc_json = false, no_cpu_access = false;
  CLI::App* alloc = app.add_subcommand(
      "alloc", "allocate one buffer (HEAP SIZE, or --for DEVICES SIZE); print `pid fd inode`");
  alloc->add_option("args", alloc_args, "HEAP SIZE, or SIZE with --for (bytes, K, M or G)")
      ->required()
      ->expected(1, 2);
  alloc->add_option("--for", alloc_for, "devices the buffer is for (D1,D2): pick the heap");
  alloc->add_option("--board", alloc_board, "with --for: this board booted here");
  alloc->add_flag("--no-cpu-access", no_cpu_access, "with --for: the CPU never maps it");
  alloc->add_flag("--hold", hold, "keep the buffer until SIGTERM/SIGINT (others can open "
                                  "/proc/PID/fd/FD)");
  alloc->add_flag("--json", alloc_json, "print JSON");
  CLI::App* bufinfo = app.add_subcommand("bufinfo", "bufinfo, the kernel debugfs format");
  add_view(bufinfo, true);
  pid_t dump_pid = 0;
  bool dump_all = false, dump_buffers = false, dump_json = false;
  CLI::App* dump = app.add_subcommand("dump", "who holds which buffers, like dmabuf_dump");
  dump->add_option("pid", dump_pid, "only this process");
  dump->add_flag("-a", dump_all, "a table of buffers by process (fd and map references)");
  dump->add_flag("-b", dump_buffers, "per-buffer and per-exporter stats (the exporter's view)");
  dump->add_flag("--json", dump_json, "print JSON");
  CLI::App* lsmod = app.add_subcommand("lsmod", "heap modules, as kmod's lsmod lists them");
  add_view(lsmod, true);
  bool proc_modules = false;
  lsmod->add_flag("--proc-modules", proc_modules, "the /proc/modules text itself");
  std::string module_arg;
  CLI::App* modinfo = app.add_subcommand("modinfo", "what a module declares");
  modinfo->add_option("name", module_arg, "module name or file")->required();
  add_view(modinfo, true);
  std::string modinfo_field;
  bool modinfo_nul = false;
  modinfo->add_option("-F,--field", modinfo_field, "only this field's values, one a line");
  modinfo->add_flag("-0,--null", modinfo_nul, "end each line with NUL, not a newline");
  bool cma_bitmap = false;
  CLI::App* cma = app.add_subcommand("cma", "CMA areas: debugfs values and a map of each bitmap");
  add_view(cma, true);
  cma->add_flag("--bitmap", cma_bitmap, "also debugfs's bitmap file (u32 words, decimal)");
  std::string cma_svg;
  cma->add_option("--svg", cma_svg, "also draw each area's bitmap, ranges by owner, to FILE");
  bool top_once = false;
  CLI::App* top = app.add_subcommand(
      "top", "the heaps live: per heap, per process, CMA maps, last failures (q quits)");
  top->add_flag("--once", top_once, "print one frame and exit");
  dmaheap::ReplayOptions replay_options;
  CLI::App* replay = app.add_subcommand(
      "replay", "replay a CMA trace (ftrace cma events) against a board's area: does it fit, "
                "how big must the area be (exit 3: it does not fit)");
  replay->add_option("trace", replay_options.trace, "the trace file, - for stdin")->required();
  replay->add_option("--board", replay_options.board, "the board (default: default)");
  replay->add_option("--area", replay_options.area, "the board's CMA area to replay against");
  replay->add_option("--size", replay_options.size, "replay with this size at the same base");
  replay->add_option("--svg", replay_options.svg, "draw the area at the peak and first failure");
  replay->add_flag("--json", replay_options.json, "print JSON");
  std::string board_arg;
  CLI::App* board_cmd = app.add_subcommand("board", "what a board declares, before booting it");
  board_cmd->add_option("board", board_arg, "board name or .dtb file")->required();
  CLI::App* doctor = app.add_subcommand("doctor", "which mode is active and what it can do here");
  CLI::App* devices = app.add_subcommand("devices", "the board's devices and their DMA constraints");
  add_view(devices, true);
  std::string attach_board, attach_heap, attach_device, attach_size, attach_dir = "bidirectional";
  CLI::App* attach = app.add_subcommand(
      "attach", "allocate, attach to a device and map; print each DMA segment (address length)");
  attach->add_option("--board", attach_board, "this board booted here, not the daemon's");
  attach->add_option("--heap", attach_heap, "heap to allocate from")->required();
  attach->add_option("--device", attach_device, "device to attach")->required();
  attach->add_option("--dir", attach_dir, "bidirectional, to-device or from-device")
      ->check(CLI::IsMember({"bidirectional", "to-device", "from-device"}));
  attach->add_option("size", attach_size, "bytes, with K, M or G")->required();

  CLI::App* insmod = app.add_subcommand("insmod", "load a heap module file into the daemon");
  insmod->add_option("path", module_arg, "module file (.so)")->required();
  CLI::App* rmmod = app.add_subcommand("rmmod", "unload a heap module from the daemon");
  rmmod->add_option("name", module_arg, "module name")->required();
  CLI::App* modprobe = app.add_subcommand("modprobe", "load a heap module by name into the daemon");
  modprobe->add_option("name", module_arg, "module name")->required();
  CLI::App* stats = app.add_subcommand("stats", "per-heap memory and buffers of the daemon");
  CLI::App* dmesg = app.add_subcommand(
      "dmesg", "the daemon's messages, stamped as dmesg does (why an insmod or ALLOC failed)");
  CLI::App* barrier = app.add_subcommand("barrier", "wait until the daemon's queued releases are done");

  // `run`'s command line is split here, not by CLI11, which would take the command's own options
  // and reorder its arguments: run's options end at "--" or at the first word that is not one
  // of them, and everything after is the command, exactly as given.
  std::vector<char*> args(argv, argv + argc);
  if (argc > 1 && std::strcmp(argv[1], "run") == 0) {
    int i = 2;
    while (i < argc) {
      const std::string a = argv[i];
      if (a == "--") {
        command.assign(argv + i + 1, argv + argc);
        break;
      }
      if (a == "-h" || a == "--help" || a.rfind("--board=", 0) == 0 ||
          a.rfind("--sanitize=", 0) == 0) {
        ++i;
      } else if (a == "--board" || a == "--sanitize") {
        i += 2;
      } else if (a.rfind("-", 0) == 0) {
        ++i;  // an unknown option of run's: CLI11 refuses it
      } else {
        command.assign(argv + i, argv + argc);
        break;
      }
    }
    args.resize(static_cast<size_t>(std::min(i, argc)));
  }
  try {
    app.parse(static_cast<int>(args.size()), args.data());
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : 2;  // --help is success; every usage error is 2
  }
  view.board_given = !view.board.empty();
  using dmaheap::ControlRequest;
  if (*run) {
    if (command.empty()) {
      std::fprintf(stderr, "dmaheap run: no command (dmaheap run [--board B] -- CMD ARGS...)\n");
      return 2;
    }
    return dmaheap::RunSupervised(run_options, command);
  }
  if (*heaps) return dmaheap::HeapsCommand(view);
  if (*alloc) {
    if (!alloc_for.empty()) {
      if (alloc_args.size() != 1) {
        std::fprintf(stderr, "dmaheap alloc: --for takes SIZE alone (the heap is chosen)\n");
        return 2;
      }
      return dmaheap::AllocForCommand(alloc_board, alloc_for, alloc_args[0], !no_cpu_access,
                                      alloc_json);
    }
    if (alloc_args.size() != 2) {
      std::fprintf(stderr, "dmaheap alloc: the size is required (HEAP SIZE, or --for D1,D2 SIZE)\n");
      return 2;
    }
    if (!alloc_board.empty() || no_cpu_access) {
      std::fprintf(stderr, "dmaheap alloc: --board and --no-cpu-access go with --for\n");
      return 2;
    }
    return dmaheap::AllocCommand(alloc_args[0], alloc_args[1], hold, alloc_json);
  }
  if (*devices) return dmaheap::DevicesCommand(view);
  if (*attach) {
    const auto dir = attach_dir == "to-device"     ? dmaheap::DmaDataDirection::kToDevice
                     : attach_dir == "from-device" ? dmaheap::DmaDataDirection::kFromDevice
                                                   : dmaheap::DmaDataDirection::kBidirectional;
    return dmaheap::AttachCommand(attach_board, attach_heap, attach_device, attach_size, dir);
  }
  if (*bufinfo) return dmaheap::BufinfoCommand(view);
  if (*dump) return dmaheap::DumpCommand(dump_pid, dump_all, dump_buffers, dump_json);
  if (*lsmod) return dmaheap::LsmodCommand(view, proc_modules);
  if (*modinfo) return dmaheap::ModinfoCommand(module_arg, view, modinfo_field, modinfo_nul);
  if (*cma) return dmaheap::CmaCommand(view, cma_bitmap, cma_svg);
  if (*board_cmd) return dmaheap::BoardCommand(board_arg);
  if (*replay) return dmaheap::ReplayCommand(replay_options);
  if (*top) return dmaheap::TopCommand(top_once);
  if (*doctor) return dmaheap::DoctorCommand();
  if (*insmod) {
    // The daemon opens the file: give it an absolute path.
    char real[4096];
    if (::realpath(module_arg.c_str(), real) == nullptr) {
      std::fprintf(stderr, "dmaheap insmod: ERROR: could not load module %s: %s\n",
                   module_arg.c_str(), std::strerror(errno));
      return 1;
    }
    return dmaheap::ControlCommand(ControlRequest::kInsmod, "insmod", real);
  }
  if (*rmmod) return dmaheap::ControlCommand(ControlRequest::kRmmod, "rmmod", module_arg);
  if (*modprobe) return dmaheap::ControlCommand(ControlRequest::kModprobe, "modprobe", module_arg);
  if (*stats) return dmaheap::ControlCommand(ControlRequest::kStats, "stats");
  if (*dmesg) return dmaheap::ControlCommand(ControlRequest::kDmesg, "dmesg");
  if (*barrier) return dmaheap::ControlCommand(ControlRequest::kBarrier, "barrier");
  return 2;
}
