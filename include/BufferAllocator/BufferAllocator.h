/*
 * libdmabufheap's BufferAllocator, current (ION-less) header, as a drop-in over dmaheap: the same
 * class, signatures, defaults and return conventions (an fd or -1 with errno; 0 or -1 with
 * errno), served by dmaheap::Client's backends — the kernel's heaps where they exist, else a
 * running dmaheapd, else a System booted in this process ($DMAHEAP_BACKEND forces one). Link with
 * -ldmabufheap. C++17.
 */
#pragma once

#include <BufferAllocator/dmabufheap-defs.h>

#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <unordered_set>

namespace dmaheap {
class Client;
}

class BufferAllocator {
  public:
    BufferAllocator();
    ~BufferAllocator();

    /* Not copyable or movable */
    BufferAllocator(const BufferAllocator&) = delete;
    BufferAllocator& operator=(const BufferAllocator&) = delete;

    /* There is no ION any more: does nothing, returns 0. */
    [[deprecated("ION is not supported; DMA-BUF heaps need no mapping")]] int MapNameToIonHeap(
            const std::string& heap_name, const std::string& ion_heap_name,
            unsigned int ion_heap_flags = 0, unsigned int legacy_ion_heap_mask = 0,
            unsigned int legacy_ion_heap_flags = 0);

    /*
     * Allocates len bytes from /dev/dma_heap/<heap_name> (O_RDWR | O_CLOEXEC; heap_flags are not
     * passed to DMA-BUF heaps) and names the buffer after the heap. Returns the dma-buf fd, or -1
     * with errno set.
     */
    int Alloc(const std::string& heap_name, size_t len, unsigned int heap_flags = 0);

    /*
     * "system" if the CPU will access the buffer, else "system-uncached" when that heap exists
     * (decided once per process), else "system".
     */
    int AllocSystem(bool cpu_access_needed, size_t len, unsigned int heap_flags = 0);

    /*
     * DMA_BUF_IOCTL_SYNC with DMA_BUF_SYNC_START / _END | sync_type: 0, or -1 with errno.
     * sync_type defaults to kSyncRead, as in Android 12's header, so callers written against it
     * (CpuSyncStart(fd) / CpuSyncEnd(fd)) still compile.
     */
    int CpuSyncStart(unsigned int dmabuf_fd, SyncType sync_type = kSyncRead);
    int CpuSyncEnd(unsigned int dmabuf_fd, SyncType sync_type = kSyncRead);

    /* The names under /dev/dma_heap (empty when there are none). */
    static std::unordered_set<std::string> GetDmabufHeapList();

    /* DMA_BUF_SET_NAME, the name truncated to 31 characters: 0, or -1 with errno. */
    static int DmabufSetName(unsigned int dmabuf_fd, const std::string& name);

    /*
     * Kept for binary compatibility with the ION era. The deprecated Alloc, AllocSystem and
     * CpuSync* overloads each need one argument more than the current ones accept (legacy_align,
     * or the callback, which therefore has no default), so a call that omits it never selects
     * them: code that does not call them draws no deprecation warning, and no call is ambiguous.
     */
    typedef std::function<int(int ion_fd, int dmabuf_fd, void* legacy_ion_custom_data)>
            CustomCpuSyncLegacyIon;
    [[deprecated("legacy_align is ignored")]] int Alloc(const std::string& heap_name, size_t len,
                                                        unsigned int heap_flags,
                                                        size_t legacy_align);
    [[deprecated("legacy_align is ignored")]] int AllocSystem(bool cpu_access_needed, size_t len,
                                                              unsigned int heap_flags,
                                                              size_t legacy_align);
    [[deprecated("the ION callback is never called")]] int CpuSyncStart(
            unsigned int dmabuf_fd, SyncType sync_type,
            const CustomCpuSyncLegacyIon& legacy_ion_cpu_sync_custom,
            void* legacy_ion_custom_data = nullptr);
    [[deprecated("the ION callback is never called")]] int CpuSyncEnd(
            unsigned int dmabuf_fd, SyncType sync_type,
            const CustomCpuSyncLegacyIon& legacy_ion_cpu_sync_custom,
            void* legacy_ion_custom_data = nullptr);
    [[deprecated("ION is not supported: always false")]] static bool CheckIonSupport();

  private:
    std::shared_ptr<dmaheap::Client> client_;  // null when no backend could be opened
};
