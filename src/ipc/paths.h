// Where the daemon, the tool, the library and the shim find each other.
//   A daemon serves: $DMAHEAP_DIR, else /run/dma_heap for root, else $XDG_RUNTIME_DIR/dma_heap.
//   A client looks at: $DMAHEAP_DIR when it is set (only there: nothing serving it is an error
//   the client reports, never a reason to go elsewhere), else the user's own daemon
//   ($XDG_RUNTIME_DIR/dma_heap, for a non-root user), then the system's (/run/dma_heap, or
//   $DMAHEAP_SYSTEM_DIR where a container mounts it elsewhere): the first a daemon serves.
//   control socket: $DMAHEAP_CONTROL, else "<heap directory>.ctl"
//   device socket:  $DMAHEAP_DEVICES, else "<heap directory>.dev"
#ifndef DMAHEAP_SRC_SERVICE_PATHS_H
#define DMAHEAP_SRC_SERVICE_PATHS_H

#include <string>
#include <string_view>

#include "dmaheap/result.h"

namespace dmaheap {

// The directory a daemon serves. ENOENT when none can be derived (non-root without
// XDG_RUNTIME_DIR).
Result<std::string> HeapDirPath();
Result<std::string> ControlSocketPath();
Result<std::string> DeviceSocketPath();

// The directory a client uses: the first of the search order above that a daemon serves (holds
// a heap socket). ENOENT when none does; `tried`, when given, receives the places looked at
// ("A, B"). `from_env`, when given, says whether DMAHEAP_DIR chose the (only) place.
Result<std::string> FindDaemonDir(std::string* tried = nullptr, bool* from_env = nullptr);
// The control and device sockets of the daemon serving `dir` (unless $DMAHEAP_CONTROL /
// $DMAHEAP_DEVICES name them).
std::string ControlSocketPathFor(const std::string& dir);
std::string DeviceSocketPathFor(const std::string& dir);
// Whether `dir` holds at least one socket (a heap a daemon serves).
bool HoldsHeapSocket(const std::string& dir);

// "<dir>/<heap>"; ENAMETOOLONG when it does not fit a Unix socket address (108 bytes with the
// NUL), with a message naming the path on stderr.
Result<std::string> HeapSocketPath(std::string_view dir, std::string_view heap);

// The heap a connected socket's peer address names, or "" when it is no heap socket of `dir`.
// The daemon binds its sockets in a temporary sibling "<dir>.tmp.XXXXXX" that is then renamed
// to `dir`, and a socket keeps the name it was bound with: both forms are accepted.
std::string HeapOfPeerPath(std::string_view dir, std::string_view peer);

// The longest path a sockaddr_un can carry.
inline constexpr size_t kMaxSocketPath = 107;

}  // namespace dmaheap

#endif  // DMAHEAP_SRC_SERVICE_PATHS_H
