// Where dmaheap finds its files: the directories of an environment variable (colon-separated),
// then directories relative to the core itself, so the build tree — which mirrors the install
// layout (bin/, lib/, lib/dmaheap/…) — works uninstalled, and an install works from any prefix.
//
// The core is either libdmaheap.so (the public library: its own directory is the library
// directory) or linked into a program in bin/ (dmaheapd, the dmaheap tool, tests): then the
// library directory is <bin>/<the install's bin → lib path> and, for the build tree, <bin>/../lib.
#ifndef DMAHEAP_SRC_PLATFORM_SEARCH_PATH_H
#define DMAHEAP_SRC_PLATFORM_SEARCH_PATH_H

#include <string>
#include <vector>

namespace dmaheap {

// The library directories, as above (absolute, without a trailing '/'; the ones that exist).
std::vector<std::string> CoreLibDirs();

// The directory of the running program (/proc/self/exe), "." when it cannot be read.
std::string ProgramDir();

// $env's entries (empty ones skipped), then "<dir>/<beside_library>" for each CoreLibDirs().
std::vector<std::string> SearchPath(const char* env, const char* beside_library);

// The first "<dir>/<file>" of `dirs` that is readable, or "".
std::string FindInPath(const std::vector<std::string>& dirs, const std::string& file);

}  // namespace dmaheap

#endif  // DMAHEAP_SRC_PLATFORM_SEARCH_PATH_H
