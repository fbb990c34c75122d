#include "service/message_log.h"

#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <deque>
#include <mutex>

namespace dmaheap {
namespace {

struct Ring {
  std::mutex mu;
  std::deque<std::string> lines;  // stamped, without '\n'
  std::string partial;            // a line not ended yet
  timespec start{};
  std::atomic<int> out_fd{STDERR_FILENO};
};

Ring& TheRing() {
  static Ring* ring = new Ring();  // never destroyed: stderr may be written to until exit
  return *ring;
}

std::string Stamp(const timespec& start) {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  long sec = now.tv_sec - start.tv_sec;
  long nsec = now.tv_nsec - start.tv_nsec;
  if (nsec < 0) {
    --sec;
    nsec += 1000000000L;
  }
  char buf[32];
  std::snprintf(buf, sizeof(buf), "[%5ld.%06ld] ", sec, nsec / 1000);
  return buf;
}

ssize_t WriteThrough(void*, const char* data, size_t size) {
  Ring& r = TheRing();
  if (const int fd = r.out_fd.load(); fd >= 0) {
    for (size_t done = 0; done < size;) {
      const ssize_t n = ::write(fd, data + done, size - done);
      if (n <= 0) break;
      done += static_cast<size_t>(n);
    }
  }
  std::lock_guard lock(r.mu);
  for (size_t i = 0; i < size; ++i) {
    if (data[i] != '\n') {
      r.partial += data[i];
      continue;
    }
    r.lines.push_back(Stamp(r.start) + r.partial);
    r.partial.clear();
    if (r.lines.size() > MessageLog::kKept) r.lines.pop_front();
  }
  return static_cast<ssize_t>(size);
}

}  // namespace

void MessageLog::Capture() {
  Ring& r = TheRing();
  clock_gettime(CLOCK_MONOTONIC, &r.start);
  cookie_io_functions_t io{};
  io.write = WriteThrough;
  if (FILE* f = ::fopencookie(nullptr, "w", io)) {
    std::setvbuf(f, nullptr, _IOLBF, 0);  // a line at a time: each reaches fd 2 as it ends
    stderr = f;
  }
}

void MessageLog::Detach() {
  const int null_fd = ::open("/dev/null", O_WRONLY | O_CLOEXEC);
  if (null_fd >= 0) {
    ::dup2(null_fd, STDERR_FILENO);
    ::close(null_fd);
  }
  TheRing().out_fd.store(-1);
}

std::string MessageLog::Text() {
  Ring& r = TheRing();
  std::lock_guard lock(r.mu);
  std::string out;
  for (const std::string& line : r.lines) out += line + "\n";
  return out;
}

}  // namespace dmaheap
