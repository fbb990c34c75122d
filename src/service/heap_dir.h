// The daemon's heap directory (DESIGN.md "Service"): one listening SOCK_SEQPACKET socket per
// heap, named after the heap, and nothing else — the stand-in for /dev/dma_heap.
//
// All of a System's heaps appear at once: the sockets are bound and listening in a temporary
// sibling directory ("<dir>.tmp.XXXXXX") that is then renamed into place (over an existing
// empty directory), so a program listing the directory never sees half a board, and a socket
// exists only once it is served. Later heaps (a module loaded at run time) are bound in place;
// a heap that goes (its module unloaded) loses its socket. Socket modes stand in for the device
// nodes' modes: "system" is 0666 (a stated difference from the kernel's 0600), others as
// configured.
#ifndef DMAHEAP_SRC_SERVICE_HEAP_DIR_H
#define DMAHEAP_SRC_SERVICE_HEAP_DIR_H

#include <sys/types.h>

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "dmaheap/result.h"
#include "dmaheap/unique_fd.h"
#include "service/limits.h"

namespace dmaheap {

class DmaHeap;

// Access to one heap socket, standing in for the device node's mode and group.
struct HeapSocketMode {
  mode_t mode = 0600;
  gid_t gid = 0;
  bool set_gid = false;
};

struct ServerConfig {
  std::string heap_dir;
  std::string control_path;
  std::string device_path;  // importers' socket (ipc/device_wire.h); "" = none
  std::string lock_path;    // service/instance_lock.h; "" = "<heap_dir>.lock"
  std::string state_path;   // system/buffer_log.h; "" = "<heap_dir>.state"
  mode_t device_mode = 0666;
  // Per heap name; heaps not listed get default_mode, except "system": 0666.
  std::map<std::string, HeapSocketMode> heap_modes;
  HeapSocketMode default_mode;
  LimitConfig limits;  // service/limits.h
};

// Parses "NAME=MODE[:GROUP]" (MODE octal ≤ 0777, GROUP a name or number). EINVAL with a message
// naming the argument and what is wrong with it.
Result<std::pair<std::string, HeapSocketMode>> ParseHeapMode(const std::string& text);

// A listening, non-blocking, close-on-exec SOCK_SEQPACKET socket at `path` (an old socket file
// there is replaced) with `mode`. ENAMETOOLONG past 107 bytes; bind's errno, logged with the path.
Result<UniqueFd> ListenAt(const std::string& path, mode_t mode);

class HeapDirectory {
 public:
  HeapDirectory(const HeapDirectory&) = delete;
  HeapDirectory& operator=(const HeapDirectory&) = delete;
  ~HeapDirectory();  // removes every socket and the directory

  // Validates every socket path first, then builds the directory as above. EEXIST (logged) when
  // `config.heap_dir` exists and is not an empty directory; ENAMETOOLONG; mkdtemp's, bind's and
  // rename's errnos, with nothing left behind.
  static Result<std::unique_ptr<HeapDirectory>> Create(const ServerConfig& config,
                                                       const std::vector<DmaHeap*>& heaps);

  // A heap's listening socket.
  struct Listener {
    int fd;
    DmaHeap* heap;
  };
  // Makes the sockets match `heaps` (after a module came or went): new heaps are bound in place,
  // sockets of heaps that are gone are closed and removed. Returns what changed. A heap whose
  // socket cannot be bound is logged and left without one.
  struct Change {
    std::vector<Listener> added;
    std::vector<Listener> removed;  // their fds are closed by the time Sync returns
  };
  Change Sync(const std::vector<DmaHeap*>& heaps);

  std::vector<Listener> listeners() const;
  // The heap a listening socket serves, or null.
  DmaHeap* HeapOf(int listen_fd) const;
  const std::string& path() const { return config_.heap_dir; }

 private:
  explicit HeapDirectory(const ServerConfig& config) : config_(config) {}
  Result<UniqueFd> Bind(const std::string& dir, const DmaHeap& heap) const;

  const ServerConfig config_;
  std::map<DmaHeap*, UniqueFd> sockets_;  // heap → its listening socket
};

}  // namespace dmaheap

#endif  // DMAHEAP_SRC_SERVICE_HEAP_DIR_H
