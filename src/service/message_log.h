// The daemon's message ring, as the kernel's is for dmesg: every line the daemon writes to
// stderr (a module's refusal, an allocation failure, a limit) is also kept, stamped with the
// time since the daemon started, and `dmaheap dmesg` reads the last of them through the control
// socket — so why an insmod or an allocation failed reaches a person who did not start the
// daemon, or whose daemon runs detached.
//
// Capture replaces the stdio `stderr` stream with one that writes each line through at once
// (to the original fd 2, or nowhere once the daemon has detached) and keeps it; what bypasses
// stdio (a sanitizer's report, abort's message) still reaches fd 2 but not the ring.
#ifndef DMAHEAP_SRC_SERVICE_MESSAGE_LOG_H
#define DMAHEAP_SRC_SERVICE_MESSAGE_LOG_H

#include <string>

namespace dmaheap {

class MessageLog {
 public:
  static constexpr size_t kKept = 512;  // lines

  // Starts keeping what is written to `stderr`; the time base is now.
  static void Capture();
  // From now on, nothing goes to fd 2 (which becomes /dev/null): a detached daemon never writes
  // to its launcher's terminal. The ring keeps everything.
  static void Detach();
  // "[SSSSS.UUUUUU] line\n" for each line kept, oldest first.
  static std::string Text();
};

}  // namespace dmaheap

#endif  // DMAHEAP_SRC_SERVICE_MESSAGE_LOG_H
