// Server: dmaheapd's heap directory, control socket and event loop around one SystemCore.
//
// The heap directory holds one SOCK_SEQPACKET socket per heap, named after the heap, and
// nothing else. All of a System's heaps appear at once: the sockets are bound and listening in
// a temporary sibling directory that is renamed into place (over an existing empty directory),
// so a program listing the directory never sees half a board, and a socket exists only once it
// is served. The control socket (mode 0600, root only) serves stats, barrier and bufinfo.
//
// One thread, one epoll loop: listeners, clients, the SystemCore's release notifications (inotify)
// and SIGTERM/SIGINT (signalfd). Every heap request goes through DmaHeapIoctl, the same code as
// the embedded path. The daemon keeps no buffer fd: each new buffer's fd is sent to the client
// and closed, and any buffer fd a client sends (SET_NAME) is closed once read.
#ifndef DMAHEAP_SRC_SERVICE_SERVER_H
#define DMAHEAP_SRC_SERVICE_SERVER_H

#include <sys/types.h>

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "system/system_core.h"
#include "dmaheap/result.h"
#include "dmaheap/unique_fd.h"
#include "ipc/protocol.h"

namespace dmaheap {

// Access to one heap socket, standing in for the device node's mode and group.
struct HeapSocketMode {
  mode_t mode = 0600;
  gid_t gid = 0;
  bool set_gid = false;
};

struct ServerConfig {
  std::string heap_dir;
  std::string control_path;
  // Per heap name; heaps not listed get default_mode, except "system": 0666 (world-accessible,
  // a stated difference from the kernel's 0600 — README deviation table).
  std::map<std::string, HeapSocketMode> heap_modes;
  HeapSocketMode default_mode;
};

// Parses "NAME=MODE[:GROUP]" (MODE octal, GROUP a name or number). EINVAL with a message.
Result<std::pair<std::string, HeapSocketMode>> ParseHeapMode(const std::string& text);

class Server {
 public:
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;
  ~Server();  // removes the heap sockets, the directory and the control socket

  // Creates the control socket and the heap directory (see the preamble). Errors name the path:
  // EEXIST when the directory exists and is not empty, ENAMETOOLONG for socket paths past 107
  // bytes.
  static Result<std::unique_ptr<Server>> Create(SystemCore& kernel, ServerConfig config);

  // Serves until SIGTERM or SIGINT (which must be blocked in every thread before Create).
  Result<void> Run();

  const ServerConfig& config() const { return config_; }

 private:
  struct Client;
  Server(SystemCore& kernel, ServerConfig config);

  Result<void> BindAll();
  // After a module came or went: a socket for every new heap, none for a heap that is gone
  // (its clients are dropped with it).
  void SyncHeapSockets();
  Result<UniqueFd> BindHeap(const std::string& dir, DmaHeap* heap);
  std::string HandleModuleOp(Op op, const std::string& arg, int* status);
  void Accept(int listen_fd);
  void Serve(Client& client);
  void Drop(int fd);

  SystemCore& kernel_;
  const ServerConfig config_;
  UniqueFd epoll_fd_;
  UniqueFd signal_fd_;
  UniqueFd control_fd_;
  UniqueFd reserve_fd_;  // freed to accept-and-close a connection when fds run out
  bool out_of_fds_ = false;  // logged once per episode
  std::map<int, DmaHeap*> listeners_;  // listening socket → its heap
  std::vector<UniqueFd> listen_fds_;
  std::map<int, std::unique_ptr<Client>> clients_;
  std::map<DmaHeap*, int> heap_listener_;  // heap → its listening socket
  bool dir_created_ = false;
};

}  // namespace dmaheap

#endif  // DMAHEAP_SRC_SERVICE_SERVER_H
