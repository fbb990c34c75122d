// Where the daemon, the tool, the library and the shim find each other. One derivation, used by
// all of them:
//   heap directory: $DMAHEAP_DIR, else /run/dma_heap for root, else $XDG_RUNTIME_DIR/dma_heap
//   control socket: $DMAHEAP_CONTROL, else "<heap directory>.ctl"
//   device socket:  $DMAHEAP_DEVICES, else "<heap directory>.dev"
#ifndef DMAHEAP_SRC_SERVICE_PATHS_H
#define DMAHEAP_SRC_SERVICE_PATHS_H

#include <string>
#include <string_view>

#include "dmaheap/result.h"

namespace dmaheap {

// ENOENT when no directory can be derived (non-root without XDG_RUNTIME_DIR).
Result<std::string> HeapDirPath();
Result<std::string> ControlSocketPath();
Result<std::string> DeviceSocketPath();

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
