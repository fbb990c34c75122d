// Where dmaheap finds its data files: the directories of an environment variable
// (colon-separated), then a directory relative to libdmaheap.so (found with dladdr), so the
// build tree — which mirrors the install layout — works uninstalled.
#ifndef DMAHEAP_SRC_PLATFORM_SEARCH_PATH_H
#define DMAHEAP_SRC_PLATFORM_SEARCH_PATH_H

#include <string>
#include <vector>

namespace dmaheap {

// $env's entries (empty ones skipped), then "<dir of libdmaheap.so>/<beside_library>".
std::vector<std::string> SearchPath(const char* env, const char* beside_library);

// The first "<dir>/<file>" of `dirs` that is readable, or "".
std::string FindInPath(const std::vector<std::string>& dirs, const std::string& file);

}  // namespace dmaheap

#endif  // DMAHEAP_SRC_PLATFORM_SEARCH_PATH_H
