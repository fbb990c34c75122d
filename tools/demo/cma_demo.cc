// The daemon demo (README's run command): against a running dmaheapd on the default board,
// through dmaheap::Client. A producer allocates a 1080p frame from the CMA heap, fills it and
// passes the fd to a consumer process, which checks every byte, keeps only a mapping and closes
// its fd. While both hold the frame, `dmaheap dump` shows the buffer and both holders; `dmaheap
// lsmod --proc-modules` shows the CMA heap as [permanent] and `dmaheap rmmod cma_heap` is
// refused. Then the
// consumer lets go, the producer closes, and the area is empty again.
//
// Every step is checked: the program exits non-zero if any is not as described, so the test
// suite runs it too (under `dmaheap run`, which provides the daemon).

#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "dmaheap/client.h"
#include "dmaheap/dmaheap.h"
#include "dmaheap/fd_passing.h"
#include "frame.h"

namespace {

using demo::kFrameBytes;
constexpr char kHeap[] = "default_cma_region";

std::string ToolPath() {
  char buf[4096];
  const ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
  std::string self = n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string("./x");
  return self.substr(0, self.rfind('/') + 1) + "dmaheap";
}

// Runs `dmaheap ARGS...`, echoes its output indented, returns its exit code and output.
int Tool(const std::vector<std::string>& args, std::string* out) {
  std::string cmd = "'" + ToolPath() + "'";
  for (const std::string& a : args) cmd += " " + a;
  cmd += " 2>&1";
  std::printf("$ dmaheap");
  for (const std::string& a : args) std::printf(" %s", a.c_str());
  std::printf("\n");
  std::fflush(stdout);
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return -1;
  out->clear();
  char buf[4096];
  for (size_t n; (n = fread(buf, 1, sizeof(buf), p)) > 0;) out->append(buf, n);
  const int status = pclose(p);
  std::fwrite(out->data(), 1, out->size(), stdout);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

bool Check(bool ok, const char* what) {
  if (!ok) std::fprintf(stderr, "cma-demo: FAILED: %s\n", what);
  return ok;
}

// The consumer: receives the frame, maps it, checks every byte, closes its fd and keeps only the
// mapping until the producer hangs up.
int Consumer(int sock) {
  char tag;
  auto got = dmaheap::RecvFd(sock, &tag, 1);
  if (!got.ok() || !got->fd) return 2;
  dmaheap::Mapping map;
  auto checked = demo::CheckFrame(got->fd.get(), &map);
  if (!checked.ok()) return 3;
  const size_t bad = *checked;
  std::printf("consumer pid %d: received fd %d, mapped %zu bytes, %zu mismatches; closing the fd, "
              "keeping the mapping\n", getpid(), got->fd.get(), map.size(), bad);
  std::fflush(stdout);
  got->fd.reset();
  char status = bad == 0 ? 'y' : 'n';
  (void)!write(sock, &status, 1);
  (void)!read(sock, &status, 1);  // hold the mapping until the producer is done looking
  return bad == 0 ? 0 : 5;
}

}  // namespace

int main() {
  auto client = dmaheap::Client::Open();
  if (!Check(client.ok(), "no heaps to use")) return 1;
  std::printf("== producer pid %d, backend %s ==\n", getpid(),
              dmaheap::BackendName((*client)->backend()));
  auto frame = (*client)->Allocate(kHeap, kFrameBytes);
  if (!Check(frame.ok(), "allocating the frame from default_cma_region")) return 1;
  (void)(*client)->SetName(frame->get(), "frame-0");
  if (!Check(demo::FillFrame(frame->get()).ok(), "filling the frame")) return 1;
  std::printf("producer: %llu-byte frame from %s filled (one contiguous CMA range)\n",
              static_cast<unsigned long long>(kFrameBytes), kHeap);
  std::fflush(stdout);

  int sv[2];
  if (!Check(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) == 0, "socketpair"))
    return 1;
  const pid_t consumer = fork();
  if (consumer == 0) {
    close(sv[0]);
    frame->reset();  // the copy fork gave it: the consumer holds only what it is sent
    _exit(Consumer(sv[1]));
  }
  close(sv[1]);
  bool ok = Check(dmaheap::SendFd(sv[0], frame->get(), "f", 1).ok(), "passing the fd");
  char status = 'n';
  ok = Check(read(sv[0], &status, 1) == 1 && status == 'y', "the consumer's check") && ok;

  std::string out;
  const std::string producer_pid = ":" + std::to_string(getpid());
  const std::string consumer_pid = ":" + std::to_string(consumer);
  ok = Check(Tool({"dump"}, &out) == 0, "dmaheap dump") && ok;
  ok = Check(out.find(producer_pid) != std::string::npos &&
                 out.find(consumer_pid) != std::string::npos &&
                 out.find("frame-0") != std::string::npos,
             "dump shows the frame in both processes") && ok;
  ok = Check(Tool({"dump", "-a"}, &out) == 0 && out.find("1(     0) refs") != std::string::npos &&
                 out.find("0(     1) refs") != std::string::npos,
             "dump -a: the producer by fd, the consumer by its mapping only") && ok;
  ok = Check(Tool({"lsmod", "--proc-modules"}, &out) == 0 &&
                 out.find("cma_heap") != std::string::npos &&
                 out.find("[permanent]") != std::string::npos,
             "lsmod --proc-modules shows the CMA heap as [permanent]") && ok;
  ok = Check(Tool({"rmmod", "cma_heap"}, &out) == 1 &&
                 out.find("Device or resource busy") != std::string::npos,
             "rmmod cma_heap is refused") && ok;
  std::printf("(refused: a permanent module cannot be unloaded)\n");
  ok = Check(Tool({"cma"}, &out) == 0 && out.find("/used: 2025\n") != std::string::npos,
             "the frame's 2025 pages in use") && ok;

  (void)!write(sv[0], "q", 1);
  close(sv[0]);
  int wstatus = 0;
  waitpid(consumer, &wstatus, 0);
  ok = Check(WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0, "the consumer's exit") && ok;
  frame->reset();
  ok = Check(Tool({"barrier"}, &out) == 0, "barrier") && ok;
  ok = Check(Tool({"cma"}, &out) == 0 && out.find("/used: 0\n") != std::string::npos,
             "after the last holder let go, the area is empty") && ok;
  std::printf(ok ? "cma-demo: every step as expected\n" : "cma-demo: FAILED\n");
  return ok ? 0 : 1;
}
