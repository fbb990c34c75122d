// The seccomp user-notification supervisor of `dmaheap run`: serves /dev/dma_heap and the vgem
// card to programs the preload shim cannot reach (static binaries, raw syscalls).
//
// The target runs under a filter that sends every open/openat and ioctl to us. openat of
// /dev/dma_heap or /dev/dma_heap/<name> is answered by injecting an fd (the heap directory, or a
// socket connected to the heap) with SECCOMP_IOCTL_NOTIF_ADDFD, and of the vgem card's
// /dev/dri/cardN (drm/vgem_card.h) a socket connected to the daemon's device socket; an ioctl on
// a heap socket, a dmaheap buffer or a card is served with the kernel's rules, the new buffer fd
// injected and the argument written back with process_vm_writev; everything else continues in
// the kernel untouched.
#ifndef DMAHEAP_TOOLS_DMAHEAP_SUPERVISOR_H
#define DMAHEAP_TOOLS_DMAHEAP_SUPERVISOR_H

#include <linux/seccomp.h>

#include <memory>
#include <string>

#include "dmaheap/result.h"

namespace dmaheap {

// Installs the filter in the calling process (about to exec the target) and returns the
// notification fd, which the supervisor must receive before the target execs. The filter sends
// open, openat and ioctl to the supervisor and lets everything else run; no_new_privs is set
// unless the caller is root.
Result<int> InstallSupervisedFilter();
// The same filter as libseccomp's pseudo filter code (seccomp_export_pfc), without installing it.
Result<std::string> SupervisedFilterText();

// Answers the notifications of one target. Handle fills `resp` from `req`:
//   a syscall that is not the supervisor's — another path, another fd — continues in the
//   kernel untouched (SECCOMP_USER_NOTIF_FLAG_CONTINUE);
//   openat/open of /dev/dma_heap adds the heap directory's fd to the target, of
//   /dev/dma_heap/<heap> a socket connected to the heap (SECCOMP_IOCTL_NOTIF_ADDFD with SEND:
//   that answers the call, and resp.id is then 0: nothing more to send); a heap that does not
//   exist is ENOENT, one whose daemon is gone ENODEV, O_DIRECTORY on a heap ENOTDIR;
//   openat/open of the vgem card's /dev/dri/cardN, while the daemon's board has vgem, adds a
//   socket connected to the daemon's device socket ("<heap_dir>.dev", where `dmaheap run` puts
//   it), with drm_open's answers to O_EXCL and O_DIRECTORY; other cards continue;
//   ioctl on a heap socket runs the heap ioctl through the daemon (the new buffer's fd added to
//   the target, the argument written back in its memory); on a dmaheap buffer, the dma-buf
//   core's dispatcher with the argument in the target's memory; on a card, the DRM core's
//   (drm/drm_ioctl.h), its buffer fds taken from the target.
// The target's memory and fds are reached with process_vm_readv/writev and pidfd_getfd.
class NotificationHandler {
 public:
  NotificationHandler(int notify_fd, std::string heap_dir);
  NotificationHandler(const NotificationHandler&) = delete;
  NotificationHandler& operator=(const NotificationHandler&) = delete;
  ~NotificationHandler();

  void Handle(const seccomp_notif& req, seccomp_notif_resp& resp);

 private:
  class Handler;
  std::unique_ptr<Handler> impl_;
};

// Serves notifications from `notify_fd` for heaps in `heap_dir` until `stop_fd` is readable
// (a pidfd of the target, which becomes readable when it exits) and no notification is left.
Result<void> Supervise(int notify_fd, int stop_fd, const std::string& heap_dir);

}  // namespace dmaheap

#endif  // DMAHEAP_TOOLS_DMAHEAP_SUPERVISOR_H
