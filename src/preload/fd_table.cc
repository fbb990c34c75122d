#include "preload/fd_table.h"

#include <unistd.h>

#include <cstring>

namespace dmaheap::preload {
namespace {

constexpr uint64_t kInodeMask = ~uint64_t{0} >> 8;

uint64_t Entry(Kind kind, ino_t ino) {
  return static_cast<uint64_t>(kind) | ((static_cast<uint64_t>(ino) & kInodeMask) << 8);
}

}  // namespace

void FdTable::Mark(int fd, Kind kind, ino_t ino) {
  if (fd < 0 || fd >= kMaxTracked) return;
  fds_[fd].store(Entry(kind, ino), std::memory_order_relaxed);
}

Kind FdTable::Unmark(int fd) {
  if (fd < 0 || fd >= kMaxTracked) return Kind::kNone;
  return static_cast<Kind>(fds_[fd].exchange(0, std::memory_order_relaxed) & 0xFF);
}

void FdTable::CopyMark(int from, int to) {
  if (from < 0 || from >= kMaxTracked || to < 0 || to >= kMaxTracked) return;
  fds_[to].store(fds_[from].load(std::memory_order_relaxed), std::memory_order_relaxed);
}

bool FdTable::StillOurs(int fd, struct stat* st_out) const {
  if (fd < 0 || fd >= kMaxTracked) return false;
  const uint64_t v = fds_[fd].load(std::memory_order_relaxed);
  if (v == 0) return false;
  struct stat st {};
  if (::fstat(fd, &st) != 0) return false;
  if ((v >> 8) != (static_cast<uint64_t>(st.st_ino) & kInodeMask)) return false;
  if (st_out != nullptr) *st_out = st;
  return true;
}

bool HeapPath(const char* path, std::string_view* rest) {
  constexpr size_t kLen = sizeof(kDevHeapDir) - 1;
  if (path == nullptr || std::strncmp(path, kDevHeapDir, kLen) != 0) return false;
  const char* p = path + kLen;
  if (*p == '\0') {
    *rest = "";
    return true;
  }
  if (*p != '/') return false;
  while (*p == '/') ++p;
  *rest = p;
  return true;
}

bool IsHeapName(std::string_view name) {
  return !name.empty() && name.find('/') == std::string_view::npos && name != "." && name != "..";
}

std::string RedirectPath(std::string_view heap_dir, std::string_view rest) {
  std::string out(heap_dir);
  if (!rest.empty()) {
    out += '/';
    out += rest;
  }
  return out;
}

bool MayBeOurIoctl(unsigned long request) {
  const unsigned type = (request >> 8) & 0xFF;  // _IOC_TYPE
  return type == 'b' || type == 'H' || type == 'd';
}

Result<off_t> BufferLseek(off_t offset, int whence, off_t size) {
  if (offset == 0 && whence == SEEK_SET) return off_t{0};
  if (offset == 0 && whence == SEEK_END) return size;
  return Errno(EINVAL);
}

}  // namespace dmaheap::preload
