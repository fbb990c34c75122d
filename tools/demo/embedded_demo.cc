// The embedded-API demo: a System booted in-process, a producer filling a frame from the
// system heap, a consumer process receiving the fd over a Unix socket and checking it, and the
// frame's memory returning to the heap when the last holder lets go.

#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>

#include "dmaheap/dmaheap.h"
#include "dmaheap/fd_passing.h"
#include "frame.h"

namespace {

using demo::kFrameBytes;

int Fail(const char* what, int err) {
  std::fprintf(stderr, "demo: %s: %s\n", what, std::strerror(err));
  return 1;
}

void PrintMemory(dmaheap::System& sys, const char* when) {
  dmaheap::MemoryStats s = sys.Stats();
  std::printf("  [%s] modelled RAM: %llu of %llu pages free", when,
              static_cast<unsigned long long>(s.free_pages),
              static_cast<unsigned long long>(s.total_pages));
  for (const auto& h : s.heaps) {
    std::printf("; heap %s: %llu live buffer(s), %llu bytes", h.name.c_str(),
                static_cast<unsigned long long>(h.live_buffers),
                static_cast<unsigned long long>(h.live_bytes));
  }
  std::printf("\n");
}

// The consumer: receives the frame, maps it, checks every byte, answers with one status byte.
int Consumer(int sock) {
  char tag;
  auto got = dmaheap::RecvFd(sock, &tag, 1);
  if (!got.ok() || !got->fd) return 2;
  dmaheap::Mapping map;
  auto bad = demo::CheckFrame(got->fd.get(), &map);
  if (!bad.ok()) return 3;
  std::printf("  consumer pid %d: received fd %d, mapped %zu bytes, %zu mismatches\n", getpid(),
              got->fd.get(), map.size(), *bad);
  std::fflush(stdout);
  char status = *bad == 0 ? 'y' : 'n';
  (void)!write(sock, &status, 1);
  // Hold the frame (fd and mapping) until the producer has looked at bufinfo and hung up.
  (void)!read(sock, &status, 1);
  return *bad == 0 ? 0 : 5;
}

}  // namespace

int main() {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  std::printf("dmaheap embedded demo\n");
  dmaheap::BootOptions options;
  options.ram_bytes = uint64_t{512} << 20;
  auto sys = dmaheap::System::Boot(options);
  if (!sys.ok()) return Fail("boot", sys.error());
  std::printf("1. booted a System with 512 MiB of modelled RAM; heaps:");
  for (const auto& name : (*sys)->HeapNames()) std::printf(" %s", name.c_str());
  std::printf("\n");
  PrintMemory(**sys, "boot");

  // The consumer is forked before the frame exists, so the only way it gets the frame is the fd
  // passed below.
  int sv[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) != 0)
    return Fail("socketpair", errno);
  pid_t child = fork();
  if (child < 0) return Fail("fork", errno);
  if (child == 0) {
    close(sv[0]);
    _exit(Consumer(sv[1]));
  }
  close(sv[1]);

  auto frame = (*sys)->Allocate("system", kFrameBytes);
  if (!frame.ok()) return Fail("allocate", frame.error());
  auto sg = (*sys)->SgTable(frame->get());
  std::printf("2. allocated a %llu-byte frame from \"system\": fd %d, %zu sg entries",
              static_cast<unsigned long long>(kFrameBytes), frame->get(), sg->size());
  if (!sg->empty()) {
    std::printf(" (first at modelled address 0x%llx, %llu bytes)",
                static_cast<unsigned long long>(sg->front().first),
                static_cast<unsigned long long>(sg->front().second));
  }
  std::printf("\n");
  if (auto filled = demo::FillFrame(frame->get()); !filled.ok())
    return Fail("fill", filled.error());
  std::printf("3. producer pid %d filled the frame inside a CPU-access window\n", getpid());

  char tag = 'f';
  if (auto sent = dmaheap::SendFd(sv[0], frame->get(), &tag, 1); !sent.ok())
    return Fail("send", sent.error());
  std::printf("4. passed the fd to consumer pid %d over a Unix socket, then closed ours\n",
              static_cast<int>(child));
  frame->reset();
  char status = 0;
  (void)!read(sv[0], &status, 1);
  std::printf("5. bufinfo while the consumer still holds the frame:%s",
              (*sys)->BufInfo().c_str());
  close(sv[0]);
  int wstatus = 0;
  waitpid(child, &wstatus, 0);
  const bool consumer_ok = WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0 && status == 'y';
  std::printf("6. consumer exited %s; its last mapping is gone\n", consumer_ok ? "ok" : "FAILED");
  PrintMemory(**sys, "after release");
  dmaheap::MemoryStats end = (*sys)->Stats();
  const bool returned = end.free_pages == end.total_pages;
  std::printf("7. %s\n", returned ? "every page is back in the buddy allocator: done"
                                  : "pages are still missing");
  return consumer_ok && returned ? 0 : 1;
}
