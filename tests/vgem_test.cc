// The vgem card against a running daemon: the DRM file that the preload shim and the supervisor
// serve (VgemFile over a device-socket connection), and the shim's card in other processes — the
// conformance program under the shim alone, imports that last exactly as long as the DRM file,
// no fd left behind on either side, a card inherited across exec and shared across fork.

#include <fcntl.h>
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <map>
#include <string>
#include <vector>

#include "daemon_fixture.h"
#include "drm/vgem_card.h"
#include "ipc/transport.h"
#include "platform/sys.h"

namespace dmaheap {
namespace {

using testing_util::Daemon;
using testing_util::DaemonAlloc;
using testing_util::RunProgram;

// A card of this process, as the shim serves one.
class TestCard final : public VgemFile {
 public:
  using VgemFile::VgemFile;
  Result<void> CopyToUser(uint64_t addr, const void* src, size_t len) override {
    return sys::CopyToUser(reinterpret_cast<void*>(addr), src, len);
  }

 protected:
  Result<int> CallerFd(int fd, UniqueFd&) override {
    if (fd < 0 || fcntl(fd, F_GETFD) < 0) return Errno(EBADF);
    return fd;
  }
};

std::string DevicePath(const Daemon& d) { return d.dir() + ".dev"; }

size_t Count(const std::string& text, const std::string& what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

// Buffers bufinfo lists with vgem attached, and with no device at all.
size_t VgemAttached(const Daemon& d) { return Count(d.Control(Op::kBufInfo), "\tvgem\n"); }
size_t Unattached(const Daemon& d) {
  return Count(d.Control(Op::kBufInfo), "Total 0 devices attached");
}

TEST(VgemCardDaemonTest, PrimeImportsAttachOnceAndTheConnectionsEndDetachesTheRest) {
  Daemon d;
  ASSERT_TRUE(d.ready());
  Result<VgemCard> card = OpenVgemCard(DevicePath(d), /*cloexec=*/true);
  ASSERT_TRUE(card.ok()) << card.error();
  EXPECT_EQ(card->device, "vgem");
  Result<UniqueFd> heap = ConnectSocket(d.dir() + "/system");
  ASSERT_TRUE(heap.ok());
  Result<UniqueFd> a = DaemonAlloc(heap->get(), 1 << 20);
  Result<UniqueFd> b = DaemonAlloc(heap->get(), 1 << 20);
  ASSERT_TRUE(a.ok() && b.ok());

  TestCard file(card->sock.get(), card->device);
  std::string unnamed;  // a card this process did not open: the name is asked at the import
  TestCard inherited(card->sock.get(), unnamed);
  EXPECT_EQ(file.PrimeFdToHandle(a->get()).value(), 1u) << "handles count from 1";
  EXPECT_EQ(file.PrimeFdToHandle(a->get()).value(), 1u) << "the same buffer, the same handle";
  EXPECT_EQ(inherited.PrimeFdToHandle(b->get()).value(), 2u) << "the same file";
  EXPECT_EQ(unnamed, "vgem");
  EXPECT_EQ(d.Stat("device vgem", "maps"), 2) << "mapped at import, once per buffer";
  EXPECT_EQ(VgemAttached(d), 2u) << d.Control(Op::kBufInfo);

  EXPECT_TRUE(file.GemClose(1).ok());
  EXPECT_EQ(file.GemClose(1).error(), EINVAL);
  EXPECT_EQ(file.GemClose(0).error(), EINVAL);
  EXPECT_EQ(d.Stat("device vgem", "unmaps"), 1);
  EXPECT_EQ(VgemAttached(d), 1u);

  EXPECT_EQ(file.PrimeFdToHandle(-1).error(), EBADF);
  int p[2];
  ASSERT_EQ(pipe2(p, O_CLOEXEC), 0);
  EXPECT_EQ(file.PrimeFdToHandle(p[0]).error(), EINVAL) << "not a dma-buf";
  EXPECT_EQ(file.PrimeFdToHandle(heap->get()).error(), EINVAL) << "a heap socket is no dma-buf";
  close(p[0]);
  close(p[1]);
  EXPECT_EQ(file.PrimeFdToHandle(p[0]).error(), EBADF);

  card->sock.reset();  // the DRM file closes: the daemon detaches what it still holds
  EXPECT_EQ(d.Control(Op::kBarrier), "");
  EXPECT_EQ(VgemAttached(d), 0u) << d.Control(Op::kBufInfo);
  EXPECT_EQ(Unattached(d), 2u) << "both buffers live on, attached to nothing";
  EXPECT_EQ(d.Stat("device vgem", "unmaps"), 2);
}

TEST(VgemCardDaemonTest, NoCardWithoutAVgemDeviceOrWithoutADaemon) {
  Daemon d({"--board", "db845c"});
  ASSERT_TRUE(d.ready());
  EXPECT_EQ(OpenVgemCard(DevicePath(d), true).error(), ENODEV);
  EXPECT_EQ(OpenVgemCard("/tmp/dh.none/h.dev", true).error(), ENODEV);
}

std::map<std::string, std::string> ShimEnv(const Daemon& d) {
  auto env = d.Env();
  env["LD_PRELOAD"] = PRELOAD_PATH;
  return env;
}

TEST(VgemShimTest, TheConformanceProgramPassesUnderTheShimAlone) {
  Daemon d;
  ASSERT_TRUE(d.ready());
  std::string out;
  EXPECT_EQ(RunProgram({VGEM_IMPORT_PATH}, ShimEnv(d), &out), 0) << out;
  EXPECT_NE(out.find("# vgem card"), std::string::npos) << out;
  EXPECT_NE(out.find("failed: 0"), std::string::npos) << out;
  EXPECT_EQ(d.Control(Op::kBarrier), "");
  EXPECT_EQ(VgemAttached(d), 0u);
  EXPECT_EQ(d.Stat("device vgem", "maps"), d.Stat("device vgem", "unmaps"));
  // vgem is not coherent (no dma-coherent on the board): a SYNC while it has a buffer mapped
  // reaches the exporter, which syncs the attachment for the CPU, as begin_cpu_access does.
  EXPECT_GT(d.Stat("device vgem", "syncs_for_cpu"), 0);
  EXPECT_EQ(d.BufferFdsHeld(), 0);
}

TEST(VgemShimTest, WithoutTheShimWithoutVgemOrWithKernelHeapsThereIsNoCard) {
  if (access("/dev/dri", F_OK) == 0) GTEST_SKIP() << "this machine has DRM nodes";
  EXPECT_EQ(RunProgram({VGEM_IMPORT_PATH}, {}), 4);
  Daemon d({"--board", "db845c"});
  ASSERT_TRUE(d.ready());
  EXPECT_EQ(RunProgram({VGEM_IMPORT_PATH}, ShimEnv(d)), 4);
  // Where the kernel has heaps the shim steps aside, its card included.
  Daemon with_vgem;
  ASSERT_TRUE(with_vgem.ready());
  auto env = ShimEnv(with_vgem);
  env["DMAHEAP_KERNEL_HEAPS"] = "/";  // stands for /sys/class/dma_heap
  EXPECT_EQ(RunProgram({VGEM_IMPORT_PATH}, env), 4);
}

// A child whose stdin and stdout are pipes to the test: it says where it is, the test looks at
// the daemon and lets it go on. Killed and reaped if the test ends first.
class Stepper {
 public:
  Stepper(const std::vector<std::string>& argv, const std::map<std::string, std::string>& env) {
    int in[2], out[2];
    if (pipe2(in, O_CLOEXEC) != 0 || pipe2(out, O_CLOEXEC) != 0) return;
    std::vector<std::string> envs;
    for (char** e = environ; *e != nullptr; ++e) envs.emplace_back(*e);
    for (const auto& [k, v] : env) envs.push_back(k + "=" + v);
    std::vector<char*> cargv, cenv;
    for (const auto& a : argv) cargv.push_back(const_cast<char*>(a.c_str()));
    cargv.push_back(nullptr);
    for (auto& e : envs) cenv.push_back(e.data());
    cenv.push_back(nullptr);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    if (posix_spawn(&pid_, cargv[0], &fa, nullptr, cargv.data(), cenv.data()) != 0) pid_ = -1;
    posix_spawn_file_actions_destroy(&fa);
    close(in[0]);
    close(out[1]);
    to_child_.reset(in[1]);
    from_child_.reset(out[0]);
  }
  Stepper(const Stepper&) = delete;
  Stepper& operator=(const Stepper&) = delete;
  ~Stepper() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }

  // The next line the child prints (without its newline), or "" after 30 s or at its end.
  std::string Line() {
    std::string line;
    char c;
    for (;;) {
      pollfd p{from_child_.get(), POLLIN, 0};
      if (poll(&p, 1, 30000) <= 0 || read(from_child_.get(), &c, 1) != 1) return line;
      if (c == '\n') return line;
      line += c;
    }
  }
  void Go() { (void)!write(to_child_.get(), "\n", 1); }
  int Wait() {
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }

 private:
  pid_t pid_ = -1;
  UniqueFd to_child_, from_child_;
};

// The kernel releases a DRM file's handles when its last fd closes (a dup keeps it open), and
// the buffers live on: so must the card's imports, every mapping undone. The program is left
// with no fd of the card, and the daemon with no fd of its buffers. (The daemon's own sockets
// are not counted: a connection the test just closed may not be reaped yet, and no request can
// wait for that.)
TEST(VgemShimTest, ImportsLastAsLongAsTheCardAndNoFdIsLeft) {
  Daemon d;
  ASSERT_TRUE(d.ready());
  Stepper probe({VGEM_PROBE_PATH, "release"}, ShimEnv(d));
  ASSERT_EQ(probe.Line(), "imported");
  EXPECT_EQ(VgemAttached(d), 3u) << "the dup keeps the DRM file open\n" << d.Control(Op::kBufInfo);
  probe.Go();
  ASSERT_EQ(probe.Line(), "closed");
  EXPECT_EQ(d.Control(Op::kBarrier), "");
  EXPECT_EQ(VgemAttached(d), 0u) << d.Control(Op::kBufInfo);
  EXPECT_EQ(Unattached(d), 3u) << "the buffers are still the probe's";
  EXPECT_EQ(d.Stat("device vgem", "maps"), 3);
  EXPECT_EQ(d.Stat("device vgem", "unmaps"), 3);
  probe.Go();
  EXPECT_EQ(probe.Line(), "fds ok");
  EXPECT_EQ(probe.Wait(), 0);
  EXPECT_EQ(d.Control(Op::kBarrier), "");
  EXPECT_EQ(d.Stat("heap system", "buffers"), 0);
  EXPECT_EQ(d.BufferFdsHeld(), 0);
}

TEST(VgemShimTest, ACardInheritedAcrossExecIsTheSameFile) {
  Daemon d;
  ASSERT_TRUE(d.ready());
  std::string out;
  EXPECT_EQ(RunProgram({VGEM_PROBE_PATH, "exec"}, ShimEnv(d), &out), 0) << out;
  EXPECT_NE(out.find("inherited ok"), std::string::npos) << out;
  EXPECT_EQ(d.Control(Op::kBarrier), "");
  EXPECT_EQ(VgemAttached(d), 0u);
}

TEST(VgemShimTest, AForkedChildSharesTheCardsHandles) {
  Daemon d;
  ASSERT_TRUE(d.ready());
  std::string out;
  EXPECT_EQ(RunProgram({VGEM_PROBE_PATH, "fork"}, ShimEnv(d), &out), 0) << out;
  EXPECT_NE(out.find("fork ok"), std::string::npos) << out;
  EXPECT_EQ(d.Control(Op::kBarrier), "");
  EXPECT_EQ(d.Stat("device vgem", "maps"), 1) << "the child's import found the parent's";
  EXPECT_EQ(VgemAttached(d), 0u);
}

}  // namespace
}  // namespace dmaheap
