// The seccomp user-notification supervisor of `dmaheap run`: serves /dev/dma_heap to programs
// the preload shim cannot reach (static binaries, raw syscalls).
//
// The target runs under a filter that sends every open/openat and ioctl to us. openat of
// /dev/dma_heap or /dev/dma_heap/<name> is answered by injecting an fd (the heap directory, or a
// socket connected to the heap) with SECCOMP_IOCTL_NOTIF_ADDFD; an ioctl on a heap socket or a
// dmaheap buffer is served with the kernel's rules, the new buffer fd injected and the argument
// written back with process_vm_writev; everything else continues in the kernel untouched.
#ifndef DMAHEAP_TOOLS_DMAHEAP_SUPERVISOR_H
#define DMAHEAP_TOOLS_DMAHEAP_SUPERVISOR_H

#include <string>

#include "dmaheap/result.h"

namespace dmaheap {

// Installs the filter in the calling process (about to exec the target) and returns the
// notification fd, which the supervisor must receive before the target execs.
Result<int> InstallSupervisedFilter();

// Serves notifications from `notify_fd` for heaps in `heap_dir` until `stop_fd` is readable
// (a pidfd of the target, which becomes readable when it exits) and no notification is left.
Result<void> Supervise(int notify_fd, int stop_fd, const std::string& heap_dir);

}  // namespace dmaheap

#endif  // DMAHEAP_TOOLS_DMAHEAP_SUPERVISOR_H
