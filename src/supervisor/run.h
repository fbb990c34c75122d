// `dmaheap run [--board B] -- CMD ARGS…`: CMD against a private daemon, under the preload shim
// and the seccomp supervisor (so -static binaries work too). The daemon lives in a short private
// directory (/tmp/dh.XXXXXX, so socket paths fit 108 bytes) and is started from beside the
// running program (its bin/), the shim from the core's library directory.
#ifndef DMAHEAP_SRC_SUPERVISOR_RUN_H
#define DMAHEAP_SRC_SUPERVISOR_RUN_H

#include <string>
#include <vector>

namespace dmaheap {

// Runs `command` and returns what the tool exits with: CMD's exit code (128 + signal when it was
// killed); 1 when the daemon does not start; 2 for no command; 126/127 when CMD cannot be run.
// Everything started is torn down, also when CMD crashes or this process is terminated
// (SIGINT/SIGTERM/SIGHUP are forwarded to CMD).
int RunSupervised(const std::string& board, std::vector<std::string> command);

}  // namespace dmaheap

#endif  // DMAHEAP_SRC_SUPERVISOR_RUN_H
