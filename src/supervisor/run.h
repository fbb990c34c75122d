// `dmaheap run [--board B] -- CMD ARGS…`: CMD against a private daemon, under the preload shim
// and the seccomp supervisor (so -static binaries work too). The daemon lives in a short private
// directory (/tmp/dh.XXXXXX, so socket paths fit 108 bytes) and is started from beside the
// running program (its bin/), the shim from the core's library directory.
#ifndef DMAHEAP_SRC_SUPERVISOR_RUN_H
#define DMAHEAP_SRC_SUPERVISOR_RUN_H

#include <string>
#include <vector>

namespace dmaheap {

struct RunOptions {
  std::string board = "default";
  // DMAHEAP_SANITIZE for CMD ("sync", "sync:continue"); empty: what the environment has. A
  // statically linked CMD cannot be sanitized (no preload shim reaches it, and the seccomp
  // supervisor sees system calls, not memory accesses): run says so once and runs it without.
  std::string sanitize;
};

// Runs `command` and returns what the tool exits with: CMD's exit code (128 + signal when it was
// killed); 1 when the daemon does not start; 2 for no command; 126/127 when CMD cannot be run.
// Everything started is torn down, also when CMD crashes or this process is terminated
// (SIGINT/SIGTERM/SIGHUP are forwarded to CMD).
int RunSupervised(const RunOptions& options, std::vector<std::string> command);

enum class Linkage { kDynamic, kStatic, kUnknown };
// How the program `command` names (a path, else the first executable file of that name on
// $PATH, as execvp finds it) is linked: kDynamic for an ELF file with a program interpreter
// (PT_INTERP), kStatic for one without (-static, -static-pie: no LD_PRELOAD reaches it),
// kUnknown when it cannot be read or is no ELF file (a script: its interpreter is what runs).
Linkage ProgramLinkage(const std::string& command);

}  // namespace dmaheap

#endif  // DMAHEAP_SRC_SUPERVISOR_RUN_H
