// The seccomp supervisor of `dmaheap run` without a child: its filter (as libseccomp exports
// it) and its answers to notifications built by hand for this very process — every decision
// that needs no fd injected into a target.

#include "supervisor/supervisor.h"

#include <elf.h>

#include <fcntl.h>
#include <gtest/gtest.h>
#include <seccomp.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

#include "dmaheap/uapi/linux/dma-buf.h"
#include "dmaheap/uapi/linux/dma-heap.h"
#include "dmaheap/unique_fd.h"
#include "supervisor/run.h"

namespace dmaheap {
namespace {

constexpr uint32_t kContinue = SECCOMP_USER_NOTIF_FLAG_CONTINUE;

TEST(SupervisedFilterTest, TrapsOpenOpenatAndIoctlOnly) {
  Result<std::string> text = SupervisedFilterText();
  ASSERT_TRUE(text.ok()) << text.error();
  // SCMP_ACT_NOTIFY is 0x7fc00000 in the exported code.
  for (const char* call : {"\"openat\"", "\"open\"", "\"ioctl\""}) {
    const size_t at = text->find(call);
    ASSERT_NE(at, std::string::npos) << call << "\n" << *text;
    EXPECT_NE(text->find("action 0x7fc00000", at), std::string::npos) << call;
  }
  EXPECT_EQ(text->find("\"read\""), std::string::npos);
  EXPECT_NE(text->find("# default action\n  action ALLOW;"), std::string::npos) << *text;
}

class NotificationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/dh.XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    for (const char* name : {"system", "gone"}) ::unlink((dir_ + "/" + name).c_str());
    ::rmdir(dir_.c_str());
  }

  // A notification of this process calling `nr` with `args`, answered by the handler.
  seccomp_notif_resp Answer(int nr, std::initializer_list<uint64_t> args) {
    seccomp_notif req{};
    req.id = 77;
    req.pid = static_cast<uint32_t>(getpid());
    req.data.nr = nr;
    size_t i = 0;
    for (uint64_t a : args) req.data.args[i++] = a;
    seccomp_notif_resp resp{};
    handler_.Handle(req, resp);
    return resp;
  }
  seccomp_notif_resp OpenAt(const char* path, int flags = O_RDWR | O_CLOEXEC) {
    return Answer(SCMP_SYS(openat),
                  {static_cast<uint64_t>(AT_FDCWD), reinterpret_cast<uint64_t>(path),
                   static_cast<uint64_t>(flags)});
  }
  seccomp_notif_resp Ioctl(int fd, unsigned long cmd, void* arg) {
    return Answer(SCMP_SYS(ioctl),
                  {static_cast<uint64_t>(fd), cmd, reinterpret_cast<uint64_t>(arg)});
  }
  // A listening socket named `name` in the heap directory, and a connection to it.
  UniqueFd HeapConnection(const std::string& name, UniqueFd* listener) {
    return Connection(dir_ + "/" + name, listener);
  }
  // A listening socket at `path`, and a connection to it.
  UniqueFd Connection(const std::string& path, UniqueFd* listener) {
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
    listener->reset(socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
    EXPECT_EQ(bind(listener->get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    EXPECT_EQ(listen(listener->get(), 4), 0);
    UniqueFd client(socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
    EXPECT_EQ(connect(client.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)), 0);
    return client;
  }

  std::string dir_;
  NotificationHandler handler_{-1, "/nonexistent"};
};

TEST_F(NotificationTest, OtherSyscallsContinue) {
  seccomp_notif_resp resp = Answer(SCMP_SYS(read), {0, 0, 0});
  EXPECT_EQ(resp.id, 77u);
  EXPECT_EQ(resp.flags, kContinue);
  EXPECT_EQ(resp.error, 0);
}

TEST_F(NotificationTest, OtherPathsContinue) {
  for (const char* path : {"/etc/hostname", "/dev/dma_heapX", "/dev/ion", "relative/path"}) {
    SCOPED_TRACE(path);
    seccomp_notif_resp resp = OpenAt(path);
    EXPECT_EQ(resp.flags, kContinue);
    EXPECT_EQ(resp.error, 0);
  }
  // A path the supervisor cannot read is the kernel's to answer (EFAULT).
  EXPECT_EQ(Answer(SCMP_SYS(openat), {static_cast<uint64_t>(AT_FDCWD), 8, 0}).flags, kContinue);
}

TEST_F(NotificationTest, HeapPathsThatCannotBeServedFailAsTheKernelWould) {
  NotificationHandler handler(-1, dir_);
  auto open_at = [&](const char* path, int flags) {
    seccomp_notif req{};
    req.id = 5;
    req.pid = static_cast<uint32_t>(getpid());
    req.data.nr = SCMP_SYS(openat);
    req.data.args[0] = static_cast<uint64_t>(AT_FDCWD);
    req.data.args[1] = reinterpret_cast<uint64_t>(path);
    req.data.args[2] = static_cast<uint64_t>(flags);
    seccomp_notif_resp resp{};
    handler.Handle(req, resp);
    EXPECT_EQ(resp.flags, 0u) << path << ": answered, not continued";
    return resp.error;
  };
  EXPECT_EQ(open_at("/dev/dma_heap/no_such_heap", O_RDWR), -ENOENT);
  EXPECT_EQ(open_at("/dev/dma_heap/a/b", O_RDWR), -ENOENT);
  EXPECT_EQ(open_at("/dev/dma_heap/system", O_RDONLY | O_DIRECTORY), -ENOTDIR);
  UniqueFd listener;
  UniqueFd client = HeapConnection("gone", &listener);
  listener.reset();  // the socket file stays, nobody serves it: a daemon that died
  EXPECT_EQ(open_at("/dev/dma_heap/gone", O_RDWR), -ENODEV);
}

// No daemon serving a vgem device (nothing at "<heap dir>.dev"): no card, the kernel answers.
TEST_F(NotificationTest, CardPathsWithoutAVgemDaemonContinue) {
  for (const char* path : {"/dev/dri/card0", "/dev/dri/card1", "/dev/dri/renderD128"}) {
    SCOPED_TRACE(path);
    seccomp_notif_resp resp = OpenAt(path);
    EXPECT_EQ(resp.flags, kContinue);
    EXPECT_EQ(resp.error, 0);
  }
}

// A connection to the device socket is a card: its ioctls get the DRM core's answers, VERSION's
// strings written into the caller's memory (no round trip needed for these).
TEST_F(NotificationTest, CardIoctlsAreAnsweredWithTheDrmRules) {
  NotificationHandler handler(-1, dir_);
  const std::string dev = dir_ + ".dev";  // the device socket, where `dmaheap run` puts it
  UniqueFd listener;
  UniqueFd card = Connection(dev, &listener);
  auto ioctl_card = [&](unsigned long cmd, void* arg) {
    seccomp_notif req{};
    req.id = 6;
    req.pid = static_cast<uint32_t>(getpid());
    req.data.nr = SCMP_SYS(ioctl);
    req.data.args[0] = static_cast<uint64_t>(card.get());
    req.data.args[1] = cmd;
    req.data.args[2] = reinterpret_cast<uint64_t>(arg);
    seccomp_notif_resp resp{};
    handler.Handle(req, resp);
    EXPECT_EQ(resp.flags, 0u) << std::hex << cmd << ": answered, not continued";
    return resp.error;
  };
  char name[8] = {};
  struct {
    int32_t major, minor, patchlevel;
    uint64_t name_len, name, date_len, date, desc_len, desc;
  } version{};
  version.name_len = sizeof(name);
  version.name = reinterpret_cast<uint64_t>(name);
  EXPECT_EQ(ioctl_card(0xC0406400u, &version), 0);  // DRM_IOCTL_VERSION
  EXPECT_STREQ(name, "vgem");
  EXPECT_EQ(version.name_len, 4u);
  EXPECT_EQ(version.major, 1);
  dma_buf_sync sync{DMA_BUF_SYNC_RW};
  EXPECT_EQ(ioctl_card(DMA_BUF_IOCTL_SYNC, &sync), -ENOTTY);
  EXPECT_EQ(ioctl_card(_IO('d', 0xf0), nullptr), -EINVAL);
  unlink(dev.c_str());
}

TEST_F(NotificationTest, FdsThatAreNotTheSupervisorsContinue) {
  int pipefd[2];
  ASSERT_EQ(pipe2(pipefd, O_CLOEXEC), 0);
  int n = 0;
  EXPECT_EQ(Ioctl(pipefd[0], FIONREAD, &n).flags, kContinue);
  UniqueFd plain(memfd_create("plain", MFD_CLOEXEC));
  dma_buf_sync sync{DMA_BUF_SYNC_RW};
  EXPECT_EQ(Ioctl(plain.get(), DMA_BUF_IOCTL_SYNC, &sync).flags, kContinue);
  EXPECT_EQ(Ioctl(9999, DMA_BUF_IOCTL_SYNC, &sync).flags, kContinue) << "EBADF is the kernel's";
  close(pipefd[0]);
  close(pipefd[1]);
}

// A buffer fd's ioctls get the dma-buf core's rules, with the argument read from the caller.
TEST_F(NotificationTest, BufferIoctlsAreAnsweredWithTheDmaBufRules) {
  UniqueFd buffer(memfd_create("dmaheap:system:1", MFD_CLOEXEC));
  ASSERT_EQ(ftruncate(buffer.get(), 4096), 0);
  dma_buf_sync sync{DMA_BUF_SYNC_RW | DMA_BUF_SYNC_START};
  seccomp_notif_resp resp = Ioctl(buffer.get(), DMA_BUF_IOCTL_SYNC, &sync);
  EXPECT_EQ(resp.flags, 0u);
  EXPECT_EQ(resp.error, 0);
  sync.flags = 0x8;
  EXPECT_EQ(Ioctl(buffer.get(), DMA_BUF_IOCTL_SYNC, &sync).error, -EINVAL);
  EXPECT_EQ(Ioctl(buffer.get(), DMA_BUF_IOCTL_SYNC, nullptr).error, -EFAULT);
  int arg = 0;
  EXPECT_EQ(Ioctl(buffer.get(), _IOW('b', 9, int), &arg).error, -ENOTTY);
  char name[] = "frame";
  EXPECT_EQ(Ioctl(buffer.get(), DMA_BUF_SET_NAME_B, name).error, -ENODEV)
      << "no daemon serves the buffer's heap";
  dma_buf_import_sync_file imp{DMA_BUF_SYNC_READ, buffer.get()};
  EXPECT_EQ(Ioctl(buffer.get(), DMA_BUF_IOCTL_IMPORT_SYNC_FILE, &imp).error, -EINVAL);
}

// A heap socket's ioctl: the number and the argument are checked before anything reaches the
// daemon.
TEST_F(NotificationTest, HeapIoctlsCheckNumberAndArgumentFirst) {
  NotificationHandler handler(-1, dir_);
  UniqueFd listener;
  UniqueFd heap = HeapConnection("system", &listener);
  auto ioctl_on_heap = [&](unsigned long cmd, void* arg) {
    seccomp_notif req{};
    req.id = 9;
    req.pid = static_cast<uint32_t>(getpid());
    req.data.nr = SCMP_SYS(ioctl);
    req.data.args[0] = static_cast<uint64_t>(heap.get());
    req.data.args[1] = cmd;
    req.data.args[2] = reinterpret_cast<uint64_t>(arg);
    seccomp_notif_resp resp{};
    handler.Handle(req, resp);
    EXPECT_EQ(resp.flags, 0u);
    return resp.error;
  };
  dma_heap_allocation_data data{4096, 0, O_RDWR | O_CLOEXEC, 0};
  EXPECT_EQ(ioctl_on_heap(_IOWR('H', 1, dma_heap_allocation_data), &data), -EINVAL);
  EXPECT_EQ(ioctl_on_heap(DMA_HEAP_IOCTL_ALLOC, nullptr), -EFAULT);
}

// `dmaheap run --sanitize` tells a static program (no PT_INTERP) from a dynamic one.
class ProgramLinkageTest : public ::testing::Test {
 protected:
  void TearDown() override {
    for (const std::string& path : paths_) ::unlink(path.c_str());
  }
  // A file holding a 64-bit ELF header and program headers of these types.
  std::string ElfWith(std::initializer_list<uint32_t> types) {
    Elf64_Ehdr eh{};
    std::memcpy(eh.e_ident, ELFMAG, SELFMAG);
    eh.e_ident[EI_CLASS] = ELFCLASS64;
    eh.e_type = ET_EXEC;
    eh.e_phoff = sizeof(eh);
    eh.e_phentsize = sizeof(Elf64_Phdr);
    eh.e_phnum = static_cast<Elf64_Half>(types.size());
    std::string bytes(reinterpret_cast<const char*>(&eh), sizeof(eh));
    for (uint32_t type : types) {
      Elf64_Phdr ph{};
      ph.p_type = type;
      bytes.append(reinterpret_cast<const char*>(&ph), sizeof(ph));
    }
    return Write(bytes);
  }
  std::string Write(const std::string& bytes) {
    char tmpl[] = "/tmp/linkage_test.XXXXXX";
    UniqueFd fd(mkstemp(tmpl));
    EXPECT_TRUE(fd.valid());
    paths_.emplace_back(tmpl);
    EXPECT_EQ(write(fd.get(), bytes.data(), bytes.size()), static_cast<ssize_t>(bytes.size()));
    return paths_.back();
  }
  std::vector<std::string> paths_;  // every file written, removed after the test
};

TEST_F(ProgramLinkageTest, InterpreterMeansDynamic) {
  EXPECT_EQ(ProgramLinkage(ElfWith({PT_PHDR, PT_INTERP, PT_LOAD})), Linkage::kDynamic);
}

TEST_F(ProgramLinkageTest, NoInterpreterMeansStatic) {
  EXPECT_EQ(ProgramLinkage(ElfWith({PT_LOAD, PT_LOAD, PT_TLS})), Linkage::kStatic);
}

TEST_F(ProgramLinkageTest, ScriptsAndUnreadableFilesAreUnknown) {
  EXPECT_EQ(ProgramLinkage(Write("#!/bin/sh\nexit 0\n")), Linkage::kUnknown);
  EXPECT_EQ(ProgramLinkage(Write(std::string(ELFMAG) + "short")), Linkage::kUnknown);
  EXPECT_EQ(ProgramLinkage("/nonexistent/program"), Linkage::kUnknown);
  EXPECT_EQ(ProgramLinkage("no-such-program-on-path-at-all"), Linkage::kUnknown);
}

TEST_F(ProgramLinkageTest, RealProgramsByPathAndOnPath) {
  EXPECT_EQ(ProgramLinkage("/proc/self/exe"), Linkage::kDynamic) << "this test is dynamic";
  EXPECT_EQ(ProgramLinkage("sh"), Linkage::kDynamic) << "found on $PATH as execvp finds it";
}

}  // namespace
}  // namespace dmaheap
