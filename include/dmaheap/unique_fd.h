// UniqueFd: sole owner of one file descriptor (heap node, buffer, socket); closes it on
// destruction. Move-only. -1 == empty.
#ifndef DMAHEAP_UNIQUE_FD_H
#define DMAHEAP_UNIQUE_FD_H

#include <unistd.h>

#include <utility>

namespace dmaheap {

class [[nodiscard]] UniqueFd {
 public:
  UniqueFd() noexcept = default;
  explicit UniqueFd(int fd) noexcept : fd_(fd) {}
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    reset(other.release());
    return *this;
  }
  ~UniqueFd() { reset(); }

  int get() const noexcept { return fd_; }
  bool valid() const noexcept { return fd_ >= 0; }
  explicit operator bool() const noexcept { return valid(); }

  // Gives up ownership without closing.
  [[nodiscard]] int release() noexcept { return std::exchange(fd_, -1); }

  void reset(int fd = -1) noexcept {
    int old = std::exchange(fd_, fd);
    if (old >= 0) ::close(old);
  }

 private:
  int fd_ = -1;
};

}  // namespace dmaheap

#endif  // DMAHEAP_UNIQUE_FD_H
