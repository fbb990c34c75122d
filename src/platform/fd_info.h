// What an fd is, from its /proc/self/fd link: dmaheap buffers are memfds named
// "dmaheap:<heap>:<id>" (the link reads "/memfd:dmaheap:<heap>:<id> (deleted)").
#ifndef DMAHEAP_SRC_PLATFORM_FD_INFO_H
#define DMAHEAP_SRC_PLATFORM_FD_INFO_H

#include <string>
#include <string_view>

namespace dmaheap::sys {

inline constexpr char kBufferLinkPrefix[] = "/memfd:dmaheap:";

// The heap a buffer's link target names ("/memfd:dmaheap:<heap>:<id> (deleted)", as
// /proc/PID/fd and /proc/PID/maps show it), or "" for anything else.
std::string HeapOfLinkTarget(std::string_view target);

// readlink("/proc/self/fd/N"); empty when `fd` is not open.
std::string FdLinkTarget(int fd);

// True when `fd` is a dmaheap buffer; its heap's name in *heap when given.
bool BufferHeapOfFd(int fd, std::string* heap);

// True when `fd` is an eventfd (the stand-in dmaheap hands out for a sync_file).
bool IsEventFd(int fd);

}  // namespace dmaheap::sys

#endif  // DMAHEAP_SRC_PLATFORM_FD_INFO_H
