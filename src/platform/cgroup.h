// The cgroup a process belongs to, as a path (/proc/PID/cgroup), for charging its buffers.
#ifndef DMAHEAP_SRC_PLATFORM_CGROUP_H
#define DMAHEAP_SRC_PLATFORM_CGROUP_H

#include <sys/types.h>

#include <string>
#include <string_view>

namespace dmaheap::sys {

// The path that charges memory in a /proc/PID/cgroup text: the v1 memory controller's line
// ("N:memory:/path", or a joint "N:cpu,memory:/path") where there is one, else the unified
// hierarchy's ("0::/path"); "" when the text has neither.
std::string CgroupPathOf(std::string_view proc_cgroup_text);

// One pointer per path, for as long as this process lives.
const std::string* InternCgroup(std::string path);

// CgroupPathOf of the process, interned: the string lives as long as this process and one path
// is one pointer. Null when the process is gone or names no cgroup.
const std::string* CgroupOf(pid_t pid);

}  // namespace dmaheap::sys

#endif  // DMAHEAP_SRC_PLATFORM_CGROUP_H
