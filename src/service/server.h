// Server: dmaheapd's event loop around one SystemCore — its heap directory (heap_dir.h), its
// control socket (mode 0600, root only; control.h) and its clients.
//
// One thread, one epoll loop: listeners, clients, the System's release notifications (inotify)
// and SIGTERM/SIGINT (signalfd). Every message is decoded by the protocol's one decoder
// (ipc/request.h); every heap request goes through the heap ioctl adapter, the same code as the
// embedded path. The daemon keeps no buffer fd: each new buffer's fd is sent to the client and
// closed, and any buffer fd a client sends (SET_NAME) is closed before the reply goes out.
#ifndef DMAHEAP_SRC_SERVICE_SERVER_H
#define DMAHEAP_SRC_SERVICE_SERVER_H

#include <map>
#include <memory>
#include <string>

#include "dmaheap/result.h"
#include "dmaheap/unique_fd.h"
#include "ipc/request.h"
#include "service/heap_dir.h"
#include "service/instance_lock.h"
#include "system/buffer_log.h"
#include "system/import_table.h"

namespace dmaheap {

class DmaHeap;
class SystemCore;

class Server {
 public:
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;
  ~Server();  // removes the heap sockets, the directory and the control socket

  // Takes the heap directory's instance lock (instance_lock.h), clears what a dead daemon left
  // there, then creates the heap directory (see heap_dir.h) and the control socket. Errors name
  // the path: EBUSY while a live daemon serves the directory, EEXIST when it holds anything but
  // sockets, ENAMETOOLONG for socket paths past 107 bytes.
  static Result<std::unique_ptr<Server>> Create(SystemCore& core, ServerConfig config);

  // Serves until SIGTERM or SIGINT (which must be blocked in every thread before Create).
  Result<void> Run();

  const ServerConfig& config() const { return config_; }

 private:
  struct Client {
    UniqueFd fd;
    DmaHeap* heap = nullptr;  // null for a control or device connection
    bool device = false;      // a device connection: an importer
    std::unique_ptr<ImportTable> imports;  // a device connection's attachments
    // The cgroup of the last pid that allocated here (one read of /proc per process, not per
    // request).
    pid_t cgroup_pid = 0;
    const std::string* cgroup = nullptr;
    uid_t uid = 0;  // SO_PEERCRED at accept: whose connection limit it counts against
  };
  // The requester of `request` on `client`, its cgroup included.
  Owner OwnerOf(Client& client, const Request& request);
  Server(SystemCore& core, ServerConfig config) : core_(core), config_(std::move(config)) {}

  Result<void> Watch(int fd, uint32_t events);
  void Accept(int listen_fd);
  void Serve(Client& client);
  // Answers one decoded request; false when the client must be dropped.
  bool ServeHeap(Client& client, Request& request);
  bool ServeDevice(Client& client, Request& request);
  bool ServeControl(Client& client, Request& request);
  // Re-adopts what the record at `path` names and starts a new record of the live buffers.
  Result<void> OpenBufferLog(const std::string& path);
  // Records a buffer before its fd leaves the daemon (fd: the daemon's copy of it).
  void RecordBuffer(const DmaBuf& buf);
  void RecordFd(int fd);
  // After a module came or went: the directory follows, and a gone heap's clients are dropped.
  void FollowHeaps();
  void Drop(int fd);
  void GiveBackMemory();
  static constexpr size_t kTrimAfter = 4096;  // buffers released since the most live

  SystemCore& core_;
  const ServerConfig config_;
  InstanceLock lock_;  // first made, last gone: held while anything of ours exists
  UniqueFd epoll_fd_;
  UniqueFd signal_fd_;
  UniqueFd control_fd_;
  UniqueFd device_fd_;  // the importers' socket, when configured
  UniqueFd reserve_fd_;      // freed to accept-and-close a connection when fds run out
  bool out_of_fds_ = false;  // logged once per episode
  std::unique_ptr<HeapDirectory> dir_;
  std::unique_ptr<AllocLimits> limits_;
  BufferLog log_;            // the live buffers' record (system/buffer_log.h)
  bool log_failed_ = false;  // an append failed (logged once)
  size_t peak_live_ = 0;     // the most live buffers since memory was last given back
  std::map<int, std::unique_ptr<Client>> clients_;
};

}  // namespace dmaheap

#endif  // DMAHEAP_SRC_SERVICE_SERVER_H
