// A daemon killed with SIGKILL leaves its heap directory, control and device sockets and lock
// file behind; a new one starts on them at once. A second daemon on a directory that a live
// one serves is refused, naming it, and takes nothing from it.

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "daemon_fixture.h"
#include "ipc/transport.h"
#include "test_util.h"

namespace dmaheap {
namespace {

using testing_util::Daemon;
using testing_util::DaemonAlloc;
using testing_util::RunProgram;

bool IsSocket(const std::string& path) {
  struct stat st {};
  return lstat(path.c_str(), &st) == 0 && S_ISSOCK(st.st_mode);
}

// One ALLOC of `len` from the daemon's system heap; the errno when it fails.
int AllocErrno(const Daemon& d, uint64_t len) {
  Result<UniqueFd> sock = ConnectSocket(d.dir() + "/system");
  if (!sock.ok()) return sock.error();
  Result<UniqueFd> fd = DaemonAlloc(sock->get(), len);
  return fd.ok() ? 0 : fd.error();
}

TEST(RestartTest, AKilledDaemonIsReplacedAtOnce) {
  Daemon d;
  ASSERT_TRUE(d.ready());
  const pid_t first = d.pid();
  d.Kill();
  // What a crash leaves: the sockets, refusing connections, and the lock file.
  ASSERT_TRUE(IsSocket(d.dir() + "/system"));
  ASSERT_TRUE(IsSocket(d.control()));
  EXPECT_EQ(ConnectSocket(d.control()).error(), ECONNREFUSED);
  EXPECT_EQ(access((d.dir() + ".lock").c_str(), F_OK), 0);

  ASSERT_TRUE(d.Start()) << "restarted on the dead daemon's directory";
  EXPECT_NE(d.pid(), first);
  EXPECT_EQ(AllocErrno(d, 4096), 0);
  int status = -1;
  EXPECT_NE(d.Control(Op::kStats, &status), "");
  EXPECT_EQ(status, 0);

  // Stopped cleanly, it leaves nothing.
  EXPECT_EQ(d.Stop(), 0);
  EXPECT_NE(access(d.dir().c_str(), F_OK), 0);
  EXPECT_NE(access(d.control().c_str(), F_OK), 0);
  EXPECT_NE(access((d.dir() + ".lock").c_str(), F_OK), 0);
}

TEST(RestartTest, ASecondDaemonOnALiveDirectoryIsRefusedNamingTheFirst) {
  Daemon d;
  ASSERT_TRUE(d.ready());
  std::string out;
  const int code = RunProgram({DMAHEAPD_PATH, "--foreground"}, d.Env(), &out);
  EXPECT_NE(code, 0);
  EXPECT_NE(out.find("heap directory " + d.dir() + " is served by a running dmaheapd (pid " +
                     std::to_string(d.pid()) + ", holding " + d.dir() + ".lock)"),
            std::string::npos)
      << out;
  // The first daemon lost nothing.
  EXPECT_TRUE(IsSocket(d.dir() + "/system"));
  EXPECT_EQ(AllocErrno(d, 4096), 0);
  int status = -1;
  EXPECT_NE(d.Control(Op::kStats, &status), "");
  EXPECT_EQ(status, 0);
}

TEST(RestartTest, ADirectoryThatIsNotADaemonsIsLeftAlone) {
  std::string dir;
  Daemon d({}, [&](const std::string& path) {
    dir = path;
    mkdir(path.c_str(), 0755);
    (void)!close(open((path + "/mine").c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600));
  });
  EXPECT_FALSE(d.ready());
  EXPECT_EQ(access((dir + "/mine").c_str(), F_OK), 0);
  EXPECT_NE(access((dir + ".lock").c_str(), F_OK), 0) << "the refused daemon let its lock go";
}

// The figures stats show of the modelled memory and the heaps: what a restart must keep.
struct Picture {
  long free_pages, system_buffers, system_bytes, cma_buffers, cma_bytes;
  std::string buddy, cma, bufinfo;
};

std::string LineOf(const std::string& text, const std::string& head) {
  const size_t at = text.find(head);
  return at == std::string::npos ? "" : text.substr(at, text.find('\n', at) - at);
}

Picture Take(const Daemon& d) {
  d.Control(Op::kBarrier);
  const std::string stats = d.Control(Op::kStats);
  return {d.Stat("memory", "free_pages"),
          d.Stat("heap system", "buffers"),
          d.Stat("heap system", "bytes"),
          d.Stat("heap linux,cma", "buffers"),
          d.Stat("heap linux,cma", "bytes"),
          LineOf(stats, "buddy "),
          d.Control(Op::kCma),
          d.Control(Op::kBufInfo)};
}

// A client process holding buffers: by fd, and one by its mapping alone. Commands on `in`:
// 'c' checks every buffer still holds its pattern (answers 'y' or 'n'), 'd' closes the first
// buffer, 'q' releases everything and exits.
class Holder {
 public:
  using Wanted = std::vector<std::pair<std::string, uint64_t>>;
  explicit Holder(const Daemon& d, Wanted wanted = {{"system", 1 << 20},
                                                    {"linux,cma", 2 << 20},
                                                    {"system", 64 << 10},
                                                    {"system", 4 << 20}}) {
    int to[2], from[2];
    EXPECT_EQ(pipe2(to, O_CLOEXEC), 0);
    EXPECT_EQ(pipe2(from, O_CLOEXEC), 0);
    child_ = std::make_unique<testing_util::Child>([&, to, from, wanted] {
      struct Buf {
        std::string heap;
        uint64_t len;
        UniqueFd fd;
        uint8_t* map = nullptr;
      };
      std::vector<Buf> bufs;
      for (const auto& [heap, len] : wanted) {
        Result<UniqueFd> sock = ConnectSocket(d.dir() + "/" + heap);
        if (!sock.ok()) return 10;
        Result<UniqueFd> fd = DaemonAlloc(sock->get(), len);
        if (!fd.ok()) return 11;
        auto* map = static_cast<uint8_t*>(
            mmap(nullptr, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd->get(), 0));
        if (map == MAP_FAILED) return 12;
        for (uint64_t i = 0; i < len; i += 4096) map[i] = static_cast<uint8_t>(i / 4096 + len);
        bufs.push_back({heap, len, std::move(fd).value(), map});
      }
      if (bufs.size() > 1) bufs.back().fd.reset();  // the last one is held by its mapping alone
      (void)!write(from[1], "r", 1);
      for (char cmd; read(to[0], &cmd, 1) == 1;) {
        if (cmd == 'c') {
          bool ok = true;
          for (const Buf& b : bufs) {
            if (b.map == nullptr) continue;
            for (uint64_t i = 0; i < b.len; i += 4096)
              ok = ok && b.map[i] == static_cast<uint8_t>(i / 4096 + b.len);
          }
          (void)!write(from[1], ok ? "y" : "n", 1);
        } else if (cmd == 'd') {
          munmap(bufs.front().map, bufs.front().len);
          bufs.front().map = nullptr;
          bufs.front().fd.reset();
          (void)!write(from[1], "d", 1);
        } else {
          break;
        }
      }
      return 0;
    });
    close(to[0]);
    close(from[1]);
    to_ = to[1];
    from_ = from[0];
  }
  ~Holder() {
    Quit();
    close(from_);
  }
  char Ask(char cmd) {
    char answer = 0;
    if (cmd != 'r' && write(to_, &cmd, 1) != 1) return 0;
    return read(from_, &answer, 1) == 1 ? answer : 0;
  }
  // Releases everything: the child exits.
  void Quit() {
    if (to_ < 0) return;
    (void)!write(to_, "q", 1);
    close(to_);
    to_ = -1;
  }
  int Wait() { return child_->Wait(); }

 private:
  std::unique_ptr<testing_util::Child> child_;
  int to_ = -1, from_ = -1;
};

TEST(RestartTest, BuffersHeldThroughACrashAreReadoptedWithTheirPagesAndStats) {
  Daemon d;
  ASSERT_TRUE(d.ready());
  const long total = d.Stat("memory", "free_pages");
  Holder holder(d);
  ASSERT_EQ(holder.Ask('r'), 'r');
  const Picture before = Take(d);
  EXPECT_EQ(before.system_buffers, 3);
  EXPECT_EQ(before.cma_buffers, 1);
  EXPECT_LT(before.free_pages, total);

  d.Kill();
  ASSERT_TRUE(d.Start());
  const Picture after = Take(d);
  EXPECT_EQ(after.free_pages, before.free_pages) << "every page taken back, none twice";
  EXPECT_EQ(after.buddy, before.buddy);
  EXPECT_EQ(after.system_buffers, before.system_buffers);
  EXPECT_EQ(after.system_bytes, before.system_bytes);
  EXPECT_EQ(after.cma_buffers, before.cma_buffers);
  EXPECT_EQ(after.cma_bytes, before.cma_bytes);
  EXPECT_EQ(after.cma, before.cma);
  EXPECT_EQ(after.bufinfo, before.bufinfo);
  EXPECT_EQ(holder.Ask('c'), 'y') << "the client's buffers are intact";

  // A new buffer gets a new id (memfd names never repeat) and pages of its own.
  Result<UniqueFd> sock = ConnectSocket(d.dir() + "/system");
  ASSERT_TRUE(sock.ok());
  Result<UniqueFd> fresh = DaemonAlloc(sock->get(), 1 << 20);
  ASSERT_TRUE(fresh.ok());
  const std::string link = [&] {
    char buf[128] = {};
    (void)!readlink(("/proc/self/fd/" + std::to_string(fresh->get())).c_str(), buf, 127);
    return std::string(buf);
  }();
  EXPECT_EQ(link.rfind("/memfd:dmaheap:system:", 0), 0u) << link;
  EXPECT_GT(std::stoul(link.substr(22)), 4u) << link;
  EXPECT_EQ(d.Stat("memory", "free_pages"), before.free_pages - 256);
  fresh->reset();

  // Releases after the restart are noticed: every page comes back.
  holder.Quit();
  EXPECT_EQ(holder.Wait(), 0);
  d.Control(Op::kBarrier);
  EXPECT_EQ(d.Stat("memory", "free_pages"), total);
  EXPECT_EQ(d.Stat("heap system", "buffers"), 0);
  EXPECT_EQ(d.Stat("heap linux,cma", "buffers"), 0);
  EXPECT_NE(d.Control(Op::kCma).find("used: 0\n"), std::string::npos) << d.Control(Op::kCma);
}

TEST(RestartTest, ABufferReleasedWhileNoDaemonRanIsDroppedAndItsPagesAreFree) {
  Daemon d;
  ASSERT_TRUE(d.ready());
  const long total = d.Stat("memory", "free_pages");
  Holder holder(d);
  ASSERT_EQ(holder.Ask('r'), 'r');
  const Picture before = Take(d);
  d.Kill();
  EXPECT_EQ(holder.Ask('d'), 'd');  // the 1 MiB system buffer goes while no daemon runs
  ASSERT_TRUE(d.Start());
  const Picture after = Take(d);
  EXPECT_EQ(after.free_pages, before.free_pages + 256);
  EXPECT_EQ(after.system_buffers, before.system_buffers - 1);
  EXPECT_EQ(after.cma, before.cma);
  EXPECT_EQ(holder.Ask('c'), 'y');
  holder.Quit();
  EXPECT_EQ(holder.Wait(), 0);
  d.Control(Op::kBarrier);
  EXPECT_EQ(d.Stat("memory", "free_pages"), total);
}

TEST(RestartTest, ACorruptRecordStartsCleanNamingTheDamage) {
  Daemon d;
  ASSERT_TRUE(d.ready());
  const long total = d.Stat("memory", "free_pages");
  Holder holder(d);
  ASSERT_EQ(holder.Ask('r'), 'r');
  d.Kill();
  // Garble the record's first buffer: what comes after it cannot be trusted either.
  const std::string state = d.dir() + ".state";
  {
    UniqueFd fd(open(state.c_str(), O_RDWR | O_CLOEXEC));
    ASSERT_TRUE(fd);
    ASSERT_EQ(pwrite(fd.get(), "garbage!", 8, 40), 8);
  }
  ASSERT_TRUE(d.Start()) << "a corrupt record does not stop the daemon";
  EXPECT_EQ(d.Stat("memory", "free_pages"), total) << "nothing could be proven: nothing adopted";
  EXPECT_EQ(holder.Ask('c'), 'y') << "the client's buffers are its own and intact";
}

// A carveout heap's pages are its module's pool's: taken back there, so the pool cannot hand
// them out twice.
TEST(RestartTest, ACarveoutBufferIsTakenBackFromItsPool) {
  Daemon d({"--board", "carveout-demo"});
  ASSERT_TRUE(d.ready());
  const std::string heap = "carveout@60000000";  // 64 MiB
  Holder holder(d, {{heap, 16 << 20}});
  ASSERT_EQ(holder.Ask('r'), 'r');
  d.Kill();
  ASSERT_TRUE(d.Start());
  EXPECT_EQ(d.Stat("heap " + heap, "bytes"), 16 << 20);
  Result<UniqueFd> sock = ConnectSocket(d.dir() + "/" + heap);
  ASSERT_TRUE(sock.ok());
  Result<UniqueFd> rest = DaemonAlloc(sock->get(), 48 << 20);
  EXPECT_TRUE(rest.ok()) << "the rest of the pool";
  EXPECT_EQ(DaemonAlloc(sock->get(), 4096).error(), ENOMEM) << "and not a page more";
  EXPECT_EQ(holder.Ask('c'), 'y');
  holder.Quit();
  EXPECT_EQ(holder.Wait(), 0);
  rest = Errno(EBADF);
  d.Control(Op::kBarrier);
  EXPECT_TRUE(DaemonAlloc(sock->get(), 64 << 20).ok()) << "all of it back";
}

// Modules run in the daemon's process, as heap drivers run in the kernel: one that crashes kills
// the daemon (a kernel would oops). What is contained is the damage: the requester sees ENODEV,
// and the restarted daemon (systemd's Restart=on-failure) re-adopts every buffer clients hold.
TEST(RestartTest, ACrashingModuleKillsTheDaemonAndARestartKeepsEveryBuffer) {
  Daemon d;
  ASSERT_TRUE(d.ready());
  Holder holder(d);
  ASSERT_EQ(holder.Ask('r'), 'r');
  const Picture before = Take(d);
  {
    Result<UniqueFd> ctl = ConnectSocket(d.control());
    ASSERT_TRUE(ctl.ok());
    const std::string path = CRASHING_MODULE_PATH;
    Result<Reply> loaded = Call(ctl->get(), Op::kInsmod, 0, path.data(), path.size());
    ASSERT_TRUE(loaded.ok());
    ASSERT_EQ(loaded->status, 0);
  }
  Result<UniqueFd> sock = ConnectSocket(d.dir() + "/crashing_heap");
  ASSERT_TRUE(sock.ok());
  EXPECT_EQ(DaemonAlloc(sock->get(), 4096).error(), ENODEV) << "the daemon died under it";
  d.Kill();  // reaps it
  ASSERT_TRUE(d.Start());
  const Picture after = Take(d);
  EXPECT_EQ(after.free_pages, before.free_pages);
  EXPECT_EQ(after.system_bytes, before.system_bytes);
  EXPECT_EQ(after.cma, before.cma);
  EXPECT_EQ(holder.Ask('c'), 'y');
}

}  // namespace
}  // namespace dmaheap
