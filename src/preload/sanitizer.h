// The sync sanitizer (DMAHEAP_SANITIZE=sync): the preload shim's machinery that catches CPU access
// to a dma-buf mapping outside DMA_BUF_IOCTL_SYNC brackets — the bug that only shows on
// non-coherent hardware (stale reads, lost writes), caught here on a desk.
//
// How: every mapping of a buffer fd made through the shim's mmap is tracked (address, length,
// offset, buffer) and kept at the protection its buffer's open brackets allow (sanitizer_rules.h):
// PROT_NONE outside every bracket, PROT_READ in READ brackets, read-write in WRITE or RW ones,
// never more than the program asked for. munmap, mprotect and mremap keep the table right. A
// SIGSEGV on a tracked page is judged: a violation is reported on stderr (buffer name, heap,
// inode, offset, read or write, backtrace), counted, and the page gets the access it needed so
// the program goes on; anything else goes to the handler the program had (or installs later:
// sigaction and signal for SIGSEGV are kept behind this one). At exit, reports make the process
// exit kExitCode after a summary line, unless DMAHEAP_SANITIZE=sync:continue.
//
// Buffers of heaps whose CPU mappings are uncached need no brackets and are not tracked (the
// daemon says, Op::kHeapInfo). Mappings of every other fd are never touched.
//
// fork: the child inherits the mappings with their protection, the table and the bracket state —
// a bracket open in the parent is open in the child, as the kernel's caches were made coherent for
// the buffer, not for a process — and from then on counts its own brackets and its own reports.
#ifndef DMAHEAP_SRC_PRELOAD_SANITIZER_H
#define DMAHEAP_SRC_PRELOAD_SANITIZER_H

#include <signal.h>
#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace dmaheap::preload::sanitizer {

// Set once, at load, before main runs; never cleared.
extern bool g_enabled;
inline bool Enabled() { return g_enabled; }

// Reads DMAHEAP_SANITIZE (a value it does not understand is said once on stderr and ignored);
// for "sync" installs the SIGSEGV handler. Called by the shim at load when it is active.
void Init();

using MmapFn = void* (*)(void*, size_t, int, int, int, off_t);
using MunmapFn = int (*)(void*, size_t);
using MprotectFn = int (*)(void*, size_t, int);
using MremapFn = void* (*)(void*, size_t, size_t, int, ...);

// The interposed calls while the sanitizer is enabled: they call `real` and keep the table.
// `buffer`: `fd` is one of the shim's buffers and the mapping passed the dma-buf checks.
void* Map(MmapFn real, void* addr, size_t len, int prot, int flags, int fd, off_t off, bool buffer);
int Unmap(MunmapFn real, void* addr, size_t len);
int Protect(MprotectFn real, void* addr, size_t len, int prot);
void* Remap(MremapFn real, void* old_addr, size_t old_size, size_t new_size, int flags,
            void* new_addr);
// A SYNC the shim accepted on buffer fd `fd` (its flags), and a name it set.
void Synced(int fd, uint64_t sync_flags);
void Named(int fd, std::string_view name);
// sigaction for SIGSEGV: the program's disposition is kept to chain to, the handler stays ours.
int SegvAction(const struct sigaction* act, struct sigaction* old);
// What _exit(status) exits with: the summary is printed once, and kExitCode replaces `status`
// when anything was reported, unless sync:continue.
int ExitStatus(int status);

}  // namespace dmaheap::preload::sanitizer

#endif  // DMAHEAP_SRC_PRELOAD_SANITIZER_H
