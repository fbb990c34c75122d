// The backends of dmaheap::Client (include/dmaheap/client.h).

#include "dmaheap/client.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>

#include "base/check.h"
#include "ipc/device_call.h"
#include "ipc/heap_call.h"
#include "system/foreign_buffer.h"
#include "ipc/transport.h"
#include "dmaheap/uapi/linux/dma-buf.h"
#include "dmaheap/uapi/linux/dma-heap.h"
#include "platform/fd_info.h"
#include "platform/sys.h"
#include "ipc/paths.h"

namespace dmaheap {
namespace {

constexpr char kKernelHeapDir[] = "/dev/dma_heap";

// A heap name that names one entry of a directory.
bool ValidHeapName(std::string_view heap) {
  return !heap.empty() && heap != "." && heap != ".." && heap.find('/') == std::string_view::npos;
}

// The entries of `dir` (sockets only when `sockets`), sorted; empty when it cannot be read.
std::vector<std::string> ListDir(const std::string& dir, bool sockets) {
  std::vector<std::string> out;
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return out;
  while (dirent* e = ::readdir(d)) {
    if (!ValidHeapName(e->d_name)) continue;
    struct stat st {};
    if (sockets && (::fstatat(::dirfd(d), e->d_name, &st, 0) != 0 || !S_ISSOCK(st.st_mode)))
      continue;
    out.emplace_back(e->d_name);
  }
  ::closedir(d);
  std::sort(out.begin(), out.end());
  return out;
}

Result<void> SetNameIoctl(int fd, std::string_view name) {
  std::string copy(name);
  const int rc = BufferIoctl(fd, DMA_BUF_SET_NAME_B, copy.data());
  if (rc != 0) return Errno(-rc);
  return {};
}

// /dev/dma_heap/<name>, opened once per heap (failed opens are not remembered).
class KernelClient final : public Client {
 public:
  Backend backend() const override { return Backend::kKernel; }
  std::vector<std::string> HeapNames() override { return ListDir(kKernelHeapDir, false); }

  Result<UniqueFd> Allocate(std::string_view heap, uint64_t len, uint32_t fd_flags,
                            uint64_t heap_flags) override {
    const int heap_fd = TRY(HeapFd(heap));
    dma_heap_allocation_data data{len, 0, fd_flags, heap_flags};
    if (::ioctl(heap_fd, DMA_HEAP_IOCTL_ALLOC, &data) != 0) return Errno(errno);
    return UniqueFd(static_cast<int>(data.fd));
  }

  Result<void> SetName(int buffer_fd, std::string_view name) override {
    const std::string copy(name);
    if (::ioctl(buffer_fd, DMA_BUF_SET_NAME_B, copy.c_str()) != 0) return Errno(errno);
    return {};
  }

 private:
  Result<int> HeapFd(std::string_view heap) {
    if (!ValidHeapName(heap)) return Errno(ENOENT);
    std::lock_guard lock(mu_);
    auto it = fds_.find(heap);
    if (it != fds_.end()) return it->second.get();
    const std::string path = std::string(kKernelHeapDir) + "/" + std::string(heap);
    UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) return Errno(errno);
    const int raw = fd.get();
    fds_.emplace(std::string(heap), std::move(fd));
    return raw;
  }

  std::mutex mu_;
  std::map<std::string, UniqueFd, std::less<>> fds_;  // guarded by mu_
};

// A running dmaheapd: one connection per heap, one request at a time on each.
class DaemonClient final : public Client {
 public:
  // The device socket's path is fixed now, from the environment the client was opened in.
  explicit DaemonClient(std::string dir)
      : dir_(std::move(dir)), device_path_(DevicePath(dir_)), thp_(sys::ReadShmemThp()) {}

  Backend backend() const override { return Backend::kDaemon; }
  std::vector<std::string> HeapNames() override { return ListDir(dir_, true); }

  Result<UniqueFd> Allocate(std::string_view heap, uint64_t len, uint32_t fd_flags,
                            uint64_t heap_flags) override {
    return AllocCall(heap, Op::kHeapIoctl, AllocPayload(len, fd_flags, heap_flags, {}), fd_flags);
  }

  Result<UniqueFd> AllocateNamed(std::string_view heap, uint64_t len, std::string_view name,
                                 uint32_t fd_flags, uint64_t heap_flags) override {
    if (name.size() >= DMA_BUF_NAME_LEN) return Errno(EINVAL);
    return AllocCall(heap, Op::kAllocNamed, AllocPayload(len, fd_flags, heap_flags, name),
                     fd_flags);
  }

  Result<std::vector<DmaDeviceInfo>> Devices() override {
    DeviceConnection* conn = TRY(Devices_());
    return conn->Devices();
  }
  Result<Attachment> Attach(int buffer_fd, std::string_view device,
                            DmaDataDirection dir) override {
    DeviceConnection* conn = TRY(Devices_());
    auto [id, segments] =
        TRY(conn->Attach(buffer_fd, device, static_cast<DmaDirection>(dir), false));
    return Attachment(std::weak_ptr<DeviceConnection>(devices_), id, std::string(device),
                      std::move(segments));
  }
  Result<HeapChoice> AllocateFor(const std::vector<std::string>& devices, uint64_t len,
                                 bool cpu_access, std::string* refusal) override {
    DeviceConnection* conn = TRY(Devices_());
    return conn->AllocateFor(devices, len, cpu_access, kDefaultFdFlags, refusal);
  }

  Result<void> SetName(int buffer_fd, std::string_view name) override {
    std::string heap;
    if (!sys::BufferHeapOfFd(buffer_fd, &heap)) return Errno(ENOTTY);
    if (name.size() >= DMA_BUF_NAME_LEN) return Errno(EINVAL);
    Connection* conn = TRY(Connect(heap));
    std::lock_guard lock(conn->mu);
    Reply reply = TRY(Call(conn->sock.get(), Op::kSetName, 0, name.data(), name.size(), buffer_fd));
    if (reply.status != 0) return Errno(reply.status);
    return {};
  }

 private:
  struct Connection {
    std::mutex mu;  // one request/reply at a time on sock
    UniqueFd sock;
  };

  // struct dma_heap_allocation_data, then the name for kAllocNamed.
  static std::vector<uint8_t> AllocPayload(uint64_t len, uint32_t fd_flags, uint64_t heap_flags,
                                           std::string_view name) {
    const dma_heap_allocation_data data{len, 0, fd_flags, heap_flags};
    std::vector<uint8_t> payload(sizeof(data) + name.size());
    std::memcpy(payload.data(), &data, sizeof(data));
    std::copy(name.begin(), name.end(), payload.begin() + sizeof(data));  // name may be empty
    return payload;
  }

  // One ALLOC (kHeapIoctl or kAllocNamed) with `payload`; the buffer, committed here.
  Result<UniqueFd> AllocCall(std::string_view heap, Op op, const std::vector<uint8_t>& payload,
                             uint32_t fd_flags) {
    // A daemon that restarted broke the old connection: one new one is tried.
    for (int attempt = 0;; ++attempt) {
      Connection* conn = TRY(Connect(heap));
      std::lock_guard lock(conn->mu);
      Result<HeapCallResult> r = HeapIoctlCall(conn->sock.get(), DMA_HEAP_IOCTL_ALLOC,
                                               payload.data(), payload.size(), thp_, op);
      if (!r.ok() && r.error() == ENODEV && attempt == 0) {
        Forget(heap);
        continue;
      }
      if (!r.ok()) return Errno(r.error());
      if (r->status != 0) return Errno(r->status);
      if (!r->fd) return Errno(EBADMSG);
      if ((fd_flags & O_CLOEXEC) == 0) ::fcntl(r->fd.get(), F_SETFD, 0);
      return std::move(r->fd);
    }
  }

  Result<Connection*> Connect(std::string_view heap) {
    if (!ValidHeapName(heap)) return Errno(ENOENT);
    std::lock_guard lock(mu_);
    auto it = conns_.find(heap);
    if (it != conns_.end()) return it->second.get();
    const std::string path = TRY(HeapSocketPath(dir_, heap));
    auto conn = std::make_unique<Connection>();
    Result<UniqueFd> sock = ConnectSocket(path);
    if (!sock.ok()) return Errno(sock.error() == ECONNREFUSED ? ENODEV : sock.error());
    conn->sock = std::move(sock).value();
    Connection* raw = conn.get();
    conns_.emplace(std::string(heap), std::move(conn));
    return raw;
  }

  // Connections are kept for the client's lifetime (a caller may be using one); a broken one
  // is replaced, and the old one closed when the client goes.
  void Forget(std::string_view heap) {
    std::lock_guard lock(mu_);
    auto it = conns_.find(heap);
    if (it == conns_.end()) return;
    broken_.push_back(std::move(it->second));
    conns_.erase(it);
  }

  // The importer connection (the device socket), opened on first use and kept: attachments
  // made through it live as long as this client.
  Result<DeviceConnection*> Devices_() {
    std::lock_guard lock(mu_);
    if (devices_ == nullptr) devices_ = TRY(DeviceConnection::Open(device_path_));
    return devices_.get();
  }

  // $DMAHEAP_DEVICES, else beside the heap directory (paths.h).
  static std::string DevicePath(const std::string& dir) { return DeviceSocketPathFor(dir); }

  const std::string dir_;
  const std::string device_path_;
  const sys::ShmemThp thp_;
  std::mutex mu_;
  // Guarded by mu_ (its calls lock themselves); attachments hold it weakly.
  std::shared_ptr<DeviceConnection> devices_;
  std::map<std::string, std::unique_ptr<Connection>, std::less<>> conns_;  // guarded by mu_
  std::vector<std::unique_ptr<Connection>> broken_;                        // guarded by mu_
};

// A System in this process.
class EmbeddedClient final : public Client {
 public:
  explicit EmbeddedClient(std::unique_ptr<System> system) : system_(std::move(system)) {}

  Backend backend() const override { return Backend::kEmbedded; }
  std::vector<std::string> HeapNames() override {
    std::vector<std::string> names = system_->HeapNames();
    std::sort(names.begin(), names.end());
    return names;
  }
  Result<UniqueFd> Allocate(std::string_view heap, uint64_t len, uint32_t fd_flags,
                            uint64_t heap_flags) override {
    return system_->Allocate(heap, len, fd_flags, heap_flags);
  }
  Result<void> SetName(int buffer_fd, std::string_view name) override {
    return SetNameIoctl(buffer_fd, name);
  }
  System* embedded() override { return system_.get(); }
  Result<std::vector<DmaDeviceInfo>> Devices() override { return system_->Devices(); }
  Result<Attachment> Attach(int buffer_fd, std::string_view device,
                            DmaDataDirection dir) override {
    return system_->Attach(buffer_fd, device, dir);
  }
  Result<HeapChoice> AllocateFor(const std::vector<std::string>& devices, uint64_t len,
                                 bool cpu_access, std::string* refusal) override {
    return system_->AllocateFor(devices, len, cpu_access, refusal);
  }

 private:
  std::unique_ptr<System> system_;
};

Result<std::unique_ptr<Client>> OpenEmbedded(const ClientOptions& options) {
  BootOptions boot;
  boot.board = options.board;
  if (boot.board.empty()) {
    const char* env = std::getenv("DMAHEAP_BOARD");
    boot.board = env != nullptr && *env != '\0' ? env : "default";
  }
  std::unique_ptr<System> system = TRY(System::Boot(boot));
  return std::unique_ptr<Client>(new EmbeddedClient(std::move(system)));
}


}  // namespace

bool KernelHasHeaps() {
  const char* sysfs = std::getenv("DMAHEAP_KERNEL_HEAPS");  // tests point it elsewhere
  struct stat st {};
  return ::stat(sysfs != nullptr && *sysfs != '\0' ? sysfs : "/sys/class/dma_heap", &st) == 0;
}

const char* BackendName(Backend backend) {
  switch (backend) {
    case Backend::kKernel: return "kernel";
    case Backend::kDaemon: return "daemon";
    case Backend::kEmbedded: return "embedded";
  }
  return "?";
}

namespace {

// A foreign buffer's CPU access (system/foreign_buffer.h): to the daemon serving this process's
// heap directory, when a device there has it mapped.
Result<void> DaemonCpuAccess(int fd, DmaDirection dir, bool end) {
  Result<std::string> dir_path = FindDaemonDir();
  if (!dir_path.ok()) return {};
  return CpuAccessThroughDaemon(*dir_path, fd, dir, end);
}

[[maybe_unused]] const bool g_foreign_installed = [] {
  SetForeignCpuAccess(DaemonCpuAccess);
  return true;
}();

}  // namespace

Client::~Client() = default;

Result<std::vector<DmaDeviceInfo>> Client::Devices() { return Errno(EOPNOTSUPP); }
Result<Attachment> Client::Attach(int, std::string_view, DmaDataDirection) {
  return Errno(EOPNOTSUPP);
}
Result<HeapChoice> Client::AllocateFor(const std::vector<std::string>&, uint64_t, bool,
                                       std::string*) {
  return Errno(EOPNOTSUPP);
}

Result<UniqueFd> Client::AllocateNamed(std::string_view heap, uint64_t len, std::string_view name,
                                       uint32_t fd_flags, uint64_t heap_flags) {
  if (name.size() >= DMA_BUF_NAME_LEN) return Errno(EINVAL);
  UniqueFd fd = TRY(Allocate(heap, len, fd_flags, heap_flags));
  (void)SetName(fd.get(), name);  // diagnostic only (see client.h)
  return fd;
}

Result<std::unique_ptr<Client>> Client::Open(const ClientOptions& options) {
  std::optional<Backend> forced = options.backend;
  if (!forced) {
    if (const char* env = std::getenv("DMAHEAP_BACKEND"); env != nullptr && *env != '\0') {
      const std::string_view want(env);
      for (Backend b : {Backend::kKernel, Backend::kDaemon, Backend::kEmbedded}) {
        if (want == BackendName(b)) forced = b;
      }
      if (!forced) {
        std::fprintf(stderr, "dmaheap: DMAHEAP_BACKEND=%s: expected kernel, daemon or embedded\n",
                     env);
        return Errno(EINVAL);
      }
    }
  }
  if (forced == Backend::kKernel || (!forced && KernelHasHeaps())) {
    struct stat st {};
    if (::stat(kKernelHeapDir, &st) != 0) return Errno(ENOENT);
    return std::unique_ptr<Client>(new KernelClient());
  }
  // The daemon: $DMAHEAP_DIR's, else the user's own, else the system's (paths.h).
  bool from_env = false;
  std::string tried;
  Result<std::string> dir = FindDaemonDir(&tried, &from_env);
  if (dir.ok() && (forced == Backend::kDaemon || !forced)) {
    return std::unique_ptr<Client>(new DaemonClient(std::move(dir).value()));
  }
  if (forced == Backend::kDaemon) return Errno(ENOENT);
  if (!forced && from_env) {
    // A DMAHEAP_DIR that points nowhere is a mistake to report, not a reason to fall back.
    std::fprintf(stderr,
                 "dmaheap: DMAHEAP_DIR=%s: no dmaheapd serves it (start one there, unset "
                 "DMAHEAP_DIR to use your own or the system's, or DMAHEAP_BACKEND=embedded)\n",
                 tried.c_str());
    return Errno(ENOENT);
  }
  return OpenEmbedded(options);
}

}  // namespace dmaheap
