// The dmaheap tool's commands run as programs: their text and JSON output, their errors and
// exit codes, and `dump` attributing a buffer to a process holding it by fd and to one holding
// only a mapping.

#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <spawn.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>
#include <climits>
#include <string>

#include "daemon_fixture.h"
#include "dmaheap/version.h"
#include "test_util.h"

namespace dmaheap {
namespace {

using testing_util::Child;
using testing_util::Daemon;
using testing_util::RunProgram;

const std::string kTool = DMAHEAP_TOOL_PATH;
constexpr uid_t kOtherUid = 54321;

// `dmaheap alloc HEAP SIZE --hold`, running until destroyed (SIGTERM, then reaped).
class HeldBuffer {
 public:
  HeldBuffer(const std::map<std::string, std::string>& env, const std::string& heap,
             const std::string& size, bool json = false) {
    int out[2];
    if (pipe2(out, O_CLOEXEC) != 0) return;
    pid_ = fork();
    if (pid_ == 0) {
      dup2(out[1], 1);
      for (const auto& [k, v] : env) setenv(k.c_str(), v.c_str(), 1);
      if (json) {
        execl(kTool.c_str(), kTool.c_str(), "alloc", heap.c_str(), size.c_str(), "--hold",
              "--json", nullptr);
      } else {
        execl(kTool.c_str(), kTool.c_str(), "alloc", heap.c_str(), size.c_str(), "--hold",
              nullptr);
      }
      _exit(127);
    }
    close(out[1]);
    char buf[512];
    ssize_t n = read(out[0], buf, sizeof(buf) - 1);  // the line comes once the buffer exists
    close(out[0]);
    if (n > 0) line_.assign(buf, static_cast<size_t>(n));
  }
  HeldBuffer(const HeldBuffer&) = delete;
  HeldBuffer& operator=(const HeldBuffer&) = delete;
  ~HeldBuffer() { (void)Stop(); }

  // SIGTERM; the exit code.
  int Stop() {
    if (pid_ <= 0) return -1;
    kill(pid_, SIGTERM);
    int status = 0;
    waitpid(pid_, &status, 0);
    pid_ = -1;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  const std::string& line() const { return line_; }
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  std::string line_;
};

// Runs the tool as an unprivileged uid; its exit code, output in *out.
int RunAsOther(const std::vector<std::string>& args, const std::map<std::string, std::string>& env,
               std::string* out) {
  int pipefd[2];
  if (pipe2(pipefd, O_CLOEXEC) != 0) return -1;
  Child child([&] {
    if (setgroups(0, nullptr) != 0 || setresgid(kOtherUid, kOtherUid, kOtherUid) != 0 ||
        setresuid(kOtherUid, kOtherUid, kOtherUid) != 0) {
      return 10;
    }
    dup2(pipefd[1], 1);
    dup2(pipefd[1], 2);
    for (const auto& [k, v] : env) setenv(k.c_str(), v.c_str(), 1);
    std::vector<char*> argv{const_cast<char*>(kTool.c_str())};
    for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(kTool.c_str(), argv.data());
    return 127;
  });
  close(pipefd[1]);
  out->clear();
  char buf[4096];
  for (ssize_t n; (n = read(pipefd[0], buf, sizeof(buf))) > 0;) out->append(buf, n);
  close(pipefd[0]);
  return child.Wait();
}

TEST(ToolTest, HeapsFromTheDaemonOrABoardBootedHere) {
  Daemon d;
  ASSERT_TRUE(d.ready());
  std::string out;
  ASSERT_EQ(RunProgram({kTool, "heaps"}, d.Env(), &out), 0) << out;
  EXPECT_EQ(out, "default_cma_region\nlinux,cma\nsystem\nsystem-uncached\n");
  ASSERT_EQ(RunProgram({kTool, "heaps", "--json"}, d.Env(), &out), 0) << out;
  EXPECT_EQ(out, "{\"backend\": \"daemon\", \"heaps\": [{\"name\": \"default_cma_region\"}, "
                 "{\"name\": \"linux,cma\"}, {\"name\": \"system\"}, "
                 "{\"name\": \"system-uncached\"}]}\n");
  ASSERT_EQ(RunProgram({kTool, "heaps", "--board", "carveout-demo", "--json"}, d.Env(), &out), 0);
  EXPECT_EQ(out, "{\"backend\": \"embedded\", \"heaps\": [{\"name\": \"carveout@60000000\"}, "
                 "{\"name\": \"default_cma_region\"}, {\"name\": \"reserved\"}, "
                 "{\"name\": \"system\"}, {\"name\": \"system-uncached\"}]}\n");
}

TEST(ToolTest, AllocHoldLetsAnotherProcessTakeTheBufferThroughProc) {
  Daemon d;
  ASSERT_TRUE(d.ready());
  HeldBuffer held(d.Env(), "default_cma_region", "1M");
  int pid = 0, fd = -1;
  unsigned long long inode = 0;
  ASSERT_EQ(std::sscanf(held.line().c_str(), "%d %d %llu", &pid, &fd, &inode), 3) << held.line();
  EXPECT_EQ(pid, held.pid());
  EXPECT_EQ(held.line(), std::to_string(pid) + " " + std::to_string(fd) + " " +
                             std::to_string(inode) + "\n");
  const std::string proc_path = "/proc/" + std::to_string(pid) + "/fd/" + std::to_string(fd);
  UniqueFd taken(open(proc_path.c_str(), O_RDWR | O_CLOEXEC));
  ASSERT_TRUE(taken) << proc_path;
  struct stat st {};
  ASSERT_EQ(fstat(taken.get(), &st), 0);
  EXPECT_EQ(st.st_ino, inode);
  EXPECT_EQ(st.st_size, 1 << 20);
  EXPECT_EQ(d.Stat("heap default_cma_region", "buffers"), 1);
  EXPECT_EQ(held.Stop(), 0) << "SIGTERM ends --hold cleanly";
  int status = -1;
  d.Control(Op::kBarrier, &status);
  EXPECT_EQ(d.Stat("heap default_cma_region", "buffers"), 1) << "our fd still holds it";
  taken.reset();
  d.Control(Op::kBarrier, &status);
  EXPECT_EQ(d.Stat("heap default_cma_region", "buffers"), 0);

  HeldBuffer as_json(d.Env(), "system", "64K", true);
  EXPECT_NE(as_json.line().find("{\"pid\": " + std::to_string(as_json.pid()) + ", \"fd\": "),
            std::string::npos)
      << as_json.line();
  EXPECT_NE(as_json.line().find(", \"size\": 65536, \"heap\": \"system\", \"backend\": "
                                "\"daemon\"}\n"),
            std::string::npos)
      << as_json.line();
}

TEST(ToolTest, AllocErrors) {
  Daemon d;
  ASSERT_TRUE(d.ready());
  std::string out;
  EXPECT_EQ(RunProgram({kTool, "alloc", "nosuch", "4096"}, d.Env(), &out), 1);
  EXPECT_EQ(out, "dmaheap alloc: no heap 'nosuch' (heaps: default_cma_region linux,cma system "
                 "system-uncached)\n");
  EXPECT_EQ(RunProgram({kTool, "alloc", "system", "0"}, d.Env(), &out), 1);
  EXPECT_EQ(out, "dmaheap alloc: system: cannot allocate 0 bytes: Invalid argument\n");
  EXPECT_EQ(RunProgram({kTool, "alloc", "linux,cma", "1G"}, d.Env(), &out), 1);
  EXPECT_EQ(out, "dmaheap alloc: linux,cma: cannot allocate 1G bytes: Cannot allocate memory\n");
  EXPECT_EQ(RunProgram({kTool, "alloc", "system", "12Q"}, d.Env(), &out), 2);
  EXPECT_EQ(out, "dmaheap alloc: invalid size '12Q' (a number with K, M or G)\n");
  EXPECT_EQ(RunProgram({kTool, "alloc", "system"}, d.Env(), &out), 2) << "usage";
  EXPECT_NE(out.find("size is required"), std::string::npos) << out;
}

TEST(ToolTest, NoDaemonAndNoBoard) {
  const std::map<std::string, std::string> env = {{"DMAHEAP_DIR", "/tmp/dmaheap-none/h"},
                                                  {"DMAHEAP_CONTROL", "/tmp/dmaheap-none/h.ctl"},
                                                  {"DMAHEAP_BOARD", "nosuch"}};
  std::string out;
  EXPECT_EQ(RunProgram({kTool, "lsmod"}, env, &out), 1);
  EXPECT_NE(out.find("dmaheap lsmod: no daemon running (/tmp/dmaheap-none/h.ctl); showing board "
                     "'nosuch' booted here\n"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("dmaheap: board nosuch: not found"), std::string::npos) << out;
  EXPECT_NE(out.find("dmaheap lsmod: no daemon and no usable board 'nosuch'\n"),
            std::string::npos)
      << out;
  for (const char* view : {"bufinfo", "cma"}) {
    EXPECT_EQ(RunProgram({kTool, view, "--json"}, env, &out), 1) << view;
    EXPECT_NE(out.find(std::string("dmaheap ") + view + ": no daemon and no usable board 'nosuch'"),
              std::string::npos)
        << out;
  }
  EXPECT_EQ(RunProgram({kTool, "heaps"}, env, &out), 1);
  EXPECT_NE(out.find("dmaheap heaps: no heaps to list: No such file or directory"),
            std::string::npos)
      << out;
  EXPECT_EQ(RunProgram({kTool, "alloc", "system", "4096"}, env, &out), 1);
  EXPECT_NE(out.find("dmaheap alloc: no heaps: No such file or directory"), std::string::npos)
      << out;
  EXPECT_EQ(RunProgram({kTool, "stats"}, env, &out), 1);
  EXPECT_NE(out.find("dmaheap stats: cannot reach the daemon at /tmp/dmaheap-none/h.ctl: No such "
                     "file or directory"),
            std::string::npos)
      << out;
  // With the default board, the views come from a System booted here.
  ASSERT_EQ(RunProgram({kTool, "lsmod", "--json"}, {{"DMAHEAP_DIR", "/tmp/dmaheap-none/h"},
                                                    {"DMAHEAP_CONTROL", "/tmp/dmaheap-none/h.ctl"}},
                       &out),
            0)
      << out;
  EXPECT_NE(out.find("{\"name\": \"cma_heap\", \"size\": "), std::string::npos) << out;
}

TEST(ToolTest, ControlViewsArePermissionDeniedToOtherUsers) {
  Daemon d;
  ASSERT_TRUE(d.ready());
  std::string out;
  EXPECT_EQ(RunAsOther({"bufinfo"}, d.Env(), &out), 1);
  EXPECT_EQ(out, "dmaheap bufinfo: permission denied: the daemon's control socket " +
                     d.Env().at("DMAHEAP_CONTROL") + " is root's (run as root)\n");
  EXPECT_EQ(RunAsOther({"cma", "--json"}, d.Env(), &out), 1);
  EXPECT_NE(out.find("permission denied"), std::string::npos) << out;
  // The heaps themselves are the world's (system is 0666): listing them needs no privilege.
  EXPECT_EQ(RunAsOther({"heaps"}, d.Env(), &out), 0) << out;
}

TEST(ToolTest, BufinfoLsmodAndCmaAsTextAndJson) {
  Daemon d;
  ASSERT_TRUE(d.ready());
  HeldBuffer held(d.Env(), "linux,cma", "8M");
  ASSERT_FALSE(held.line().empty());
  std::string out;
  ASSERT_EQ(RunProgram({kTool, "bufinfo"}, d.Env(), &out), 0);
  EXPECT_NE(out.find("\t00000001\tlinux,cma\t"), std::string::npos) << "one holder: " << out;
  EXPECT_NE(out.find("Total 1 objects, 8388608 bytes"), std::string::npos) << out;
  ASSERT_EQ(RunProgram({kTool, "bufinfo", "--json"}, d.Env(), &out), 0);
  EXPECT_NE(out.find("{\"buffers\": [{\"size\": 8388608, \"flags\": \"00000002\", \"mode\": "
                     "\"00080003\", \"count\": 1, \"exp_name\": \"linux,cma\", \"ino\": "),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("], \"total_objects\": 1, \"total_bytes\": 8388608}\n"), std::string::npos);
  ASSERT_EQ(RunProgram({kTool, "lsmod", "--proc-modules"}, d.Env(), &out), 0);
  EXPECT_NE(out.find("cma_heap "), std::string::npos);
  EXPECT_NE(out.find(" 1 [permanent], Live 0x"), std::string::npos) << "its buffer: " << out;
  ASSERT_EQ(RunProgram({kTool, "lsmod"}, d.Env(), &out), 0);
  EXPECT_NE(out.find("\ncma_heap            "), std::string::npos) << out;
  EXPECT_NE(out.find("  1\n"), std::string::npos) << "its buffer holds it: " << out;
  ASSERT_EQ(RunProgram({kTool, "lsmod", "--json"}, d.Env(), &out), 0);
  EXPECT_NE(out.find("{\"name\": \"cma_heap\", \"size\": "), std::string::npos) << out;
  EXPECT_NE(out.find("\"refcount\": 1, \"deps\": [], \"permanent\": true, \"state\": \"Live\""),
            std::string::npos)
      << out;
  ASSERT_EQ(RunProgram({kTool, "cma", "--json"}, d.Env(), &out), 0);
  EXPECT_EQ(out, "{\"areas\": [{\"name\": \"linux,cma\", \"base_pfn\": 1015808, \"count\": 32768, "
                 "\"order_per_bit\": 0, \"used\": 2048, \"maxchunk\": 30720, \"map\": \"####" +
                     std::string(60, '.') + "\"}]}\n");
  ASSERT_EQ(RunProgram({kTool, "modinfo", "cma_heap"}, d.Env(), &out), 0);
  EXPECT_NE(out.find("license:        GPL v2"), std::string::npos) << out;
  EXPECT_NE(out.find("\ndepends:        \n"), std::string::npos) << "modpost's empty depends";
  char canonical[PATH_MAX];
  const std::string file = out.substr(16, out.find('\n') - 16);
  ASSERT_NE(realpath(file.c_str(), canonical), nullptr) << out;
  EXPECT_EQ(file, canonical) << "filename: is canonical";
  // kmod's -F and -0.
  ASSERT_EQ(RunProgram({kTool, "modinfo", "-F", "license", "cma_heap"}, d.Env(), &out), 0);
  EXPECT_EQ(out, "GPL v2\n");
  ASSERT_EQ(RunProgram({kTool, "modinfo", "-F", "import_ns", "-0", "cma_heap"}, d.Env(), &out), 0);
  EXPECT_EQ(out, std::string("DMA_BUF\0DMA_BUF_HEAP\0", 21));
  ASSERT_EQ(RunProgram({kTool, "modinfo", "-F", "depends", "cma_heap"}, d.Env(), &out), 0);
  EXPECT_EQ(out, "\n");
  EXPECT_EQ(RunProgram({kTool, "modinfo", "nosuch"}, d.Env(), &out), 1);
  EXPECT_EQ(out, "dmaheap modinfo: ERROR: Module nosuch not found.\n");
}

TEST(ToolTest, DumpAttributesABufferToAnFdHolderAndAMapOnlyHolder) {
  Daemon d;
  ASSERT_TRUE(d.ready());
  HeldBuffer held(d.Env(), "default_cma_region", "2M");
  int pid = 0, fd = -1;
  unsigned long long inode = 0;
  ASSERT_EQ(std::sscanf(held.line().c_str(), "%d %d %llu", &pid, &fd, &inode), 3);
  // A second process maps the buffer through /proc and closes its fd: only the mapping holds it.
  int ready[2], done[2];
  ASSERT_EQ(pipe(ready), 0);
  ASSERT_EQ(pipe(done), 0);
  Child mapper([&] {
    const std::string path = "/proc/" + std::to_string(pid) + "/fd/" + std::to_string(fd);
    int f = open(path.c_str(), O_RDWR);
    if (f < 0) return 10;
    void* p = mmap(nullptr, 2 << 20, PROT_READ | PROT_WRITE, MAP_SHARED, f, 0);
    close(f);
    if (p == MAP_FAILED) return 11;
    char c = 0;
    if (write(ready[1], "r", 1) != 1 || read(done[0], &c, 1) != 1) return 12;
    return 0;
  });
  char c = 0;
  ASSERT_EQ(read(ready[0], &c, 1), 1);
  const std::string a = std::to_string(pid), b = std::to_string(mapper.pid());

  std::string out;
  ASSERT_EQ(RunProgram({kTool, "dump", "--json"}, d.Env(), &out), 0);
  const std::string ino = std::to_string(inode);
  EXPECT_NE(out.find("{\"inode\": " + ino + ", \"size\": 2097152, \"exporter\": "
                     "\"default_cma_region\", \"name\": \"\", \"fd_refs\": {\"" + a +
                     "\": 1}, \"map_refs\": {\"" + b + "\": 1}}"),
            std::string::npos)
      << out;
  ASSERT_EQ(RunProgram({kTool, "dump"}, d.Env(), &out), 0);
  // Each process's table lists the buffer, shared by 2 processes: Pss is half of Rss.
  char row[256];
  std::snprintf(row, sizeof(row), "%22s %13d kB %13d kB %16d %16s\n", "<unknown>", 2048, 1024, 2,
                ino.c_str());
  size_t first = out.find(row);
  EXPECT_NE(first, std::string::npos) << out;
  EXPECT_NE(out.find(row, first + 1), std::string::npos) << "in both processes' tables: " << out;
  EXPECT_NE(out.find(":" + a), std::string::npos);
  EXPECT_NE(out.find(":" + b), std::string::npos);
  // The footer sums every process of the machine (other tests' buffers too): its format only;
  // its arithmetic is DmaBufInfoTest's.
  EXPECT_NE(out.find("\ndmabuf total: "), std::string::npos) << out;
  ASSERT_EQ(RunProgram({kTool, "dump", "-a"}, d.Env(), &out), 0);
  EXPECT_NE(out.find("        1(     0) refs |"), std::string::npos) << out;
  EXPECT_NE(out.find("        0(     1) refs |"), std::string::npos) << out;
  ASSERT_EQ(RunProgram({kTool, "dump", b}, d.Env(), &out), 0);
  EXPECT_NE(out.find(":" + b), std::string::npos);
  EXPECT_EQ(out.find(":" + a + "\n"), std::string::npos) << "only the process asked for: " << out;
  ASSERT_EQ(RunProgram({kTool, "dump", "-b"}, d.Env(), &out), 0);
  EXPECT_NE(out.find("Total DMA-BUF count: 1, Total DMA-BUF size(bytes): 2097152\n"),
            std::string::npos)
      << out;
  EXPECT_EQ(RunProgram({kTool, "dump", "-a", b}, d.Env(), &out), 2);
  EXPECT_EQ(RunProgram({kTool, "dump", "999999999"}, d.Env(), &out), 1);
  EXPECT_EQ(out, "dmaheap dump: no process 999999999\n");
  ASSERT_EQ(write(done[1], "d", 1), 1);
  EXPECT_EQ(mapper.Wait(), 0);
}

TEST(ToolTest, DumpWithNothingHeld) {
  std::string out;
  ASSERT_EQ(RunProgram({kTool, "dump", std::to_string(getpid())},
                       {{"DMAHEAP_CONTROL", "/tmp/dmaheap-none/h.ctl"}}, &out),
            0);
  EXPECT_EQ(out, "dmabuf info not found \u00af\\_(\u30c4)_/\u00af\n");
}

// Where the kernel has heaps and no daemon runs, the views are the kernel's own files.
TEST(ToolTest, OnAKernelWithHeapsTheViewsAreTheKernelsFiles) {
  char tmpl[] = "/tmp/dmaheap-debugfs.XXXXXX";
  ASSERT_NE(mkdtemp(tmpl), nullptr);
  const std::string debugfs = tmpl;
  mkdir((debugfs + "/dma_buf").c_str(), 0755);
  mkdir((debugfs + "/cma").c_str(), 0755);
  mkdir((debugfs + "/cma/reserved").c_str(), 0755);
  const std::string bufinfo =
      "\nDma-buf Objects:\nsize    \tflags   \tmode    \tcount   \texp_name\tino     \tname\n"
      "00016384\t00000002\t00080007\t00000001\tsystem\t00000042\tprobe-name\n"
      "\tAttached Devices:\nTotal 0 devices attached\n\n\nTotal 1 objects, 16384 bytes\n";
  std::ofstream(debugfs + "/dma_buf/bufinfo") << bufinfo;
  const char* values[][2] = {{"base_pfn", "262144"}, {"count", "32768"}, {"order_per_bit", "0"},
                             {"used", "2048"}, {"maxchunk", "30720"}, {"bitmap", "15 0 0"}};
  for (const auto& [key, value] : values)
    std::ofstream(debugfs + "/cma/reserved/" + key) << value << "\n";
  const std::map<std::string, std::string> env = {
      {"DMAHEAP_KERNEL_HEAPS", debugfs},  // any existing directory stands for /sys/class/dma_heap
      {"DMAHEAP_DEBUGFS", debugfs},
      {"DMAHEAP_CONTROL", "/tmp/dmaheap-none/h.ctl"}};
  std::string out;
  ASSERT_EQ(RunProgram({kTool, "bufinfo"}, env, &out), 0) << out;
  EXPECT_EQ(out, bufinfo);
  ASSERT_EQ(RunProgram({kTool, "bufinfo", "--json"}, env, &out), 0) << out;
  EXPECT_EQ(out, "{\"buffers\": [{\"size\": 16384, \"flags\": \"00000002\", \"mode\": "
                 "\"00080007\", \"count\": 1, \"exp_name\": \"system\", \"ino\": 42, "
                 "\"name\": \"probe-name\"}], \"total_objects\": 1, \"total_bytes\": 16384}\n");
  ASSERT_EQ(RunProgram({kTool, "cma", "--json", "--bitmap"}, env, &out), 0) << out;
  EXPECT_EQ(out, "{\"areas\": [{\"name\": \"reserved\", \"base_pfn\": 262144, \"count\": 32768, "
                 "\"order_per_bit\": 0, \"used\": 2048, \"maxchunk\": 30720, "
                 "\"bitmap\": [15, 0, 0]}]}\n");
  ASSERT_EQ(RunProgram({kTool, "dump", "-b"}, env, &out), 0) << out;
  EXPECT_NE(out.find("Total DMA-BUF count: 1, Total DMA-BUF size(bytes): 16384\n"),
            std::string::npos)
      << out;
  EXPECT_EQ(RunProgram({kTool, "modinfo", "system_heap"}, env, &out), 1);
  EXPECT_EQ(out, "dmaheap modinfo: the kernel: not answered here: use the kernel's own tools\n");
  unlink((debugfs + "/dma_buf/bufinfo").c_str());
  EXPECT_EQ(RunProgram({kTool, "bufinfo"}, env, &out), 1);
  EXPECT_EQ(out, "dmaheap bufinfo: " + debugfs + "/dma_buf/bufinfo: No such file or directory\n");
  std::string cmd = "rm -rf '" + debugfs + "'";
  EXPECT_EQ(system(cmd.c_str()), 0);
}

// With no daemon anywhere, heaps and alloc still answer (a System booted in the process), and
// say so: believable output from nothing real must not pass for a daemon's.
TEST(ToolTest, BothProgramsSayTheirVersion) {
  std::string out;
  EXPECT_EQ(RunProgram({kTool, "--version"}, {}, &out), 0);
  EXPECT_EQ(out, "dmaheap " DMAHEAP_VERSION_STRING "\n");
  EXPECT_EQ(RunProgram({DMAHEAPD_PATH, "--version"}, {}, &out), 0);
  EXPECT_EQ(out, "dmaheapd " DMAHEAP_VERSION_STRING "\n");
}

TEST(ToolTest, HeapsAndAllocSayWhenNoDaemonAnswered) {
  const std::map<std::string, std::string> env = {
      {"DMAHEAP_SYSTEM_DIR", "/tmp/dmaheap-no-system"}, {"DMAHEAP_KERNEL_HEAPS", "/nonexistent-sysfs"}};
  std::string out;
  ASSERT_EQ(RunProgram({kTool, "heaps"}, env, &out), 0) << out;
  EXPECT_NE(out.find("dmaheap heaps: no daemon running (looked in /tmp/dmaheap-no-system); board "
                     "'default' booted here\n"),
            std::string::npos)
      << out;
  ASSERT_EQ(RunProgram({kTool, "alloc", "system", "4096"}, env, &out), 0) << out;
  EXPECT_NE(out.find("dmaheap alloc: no daemon running (looked in /tmp/dmaheap-no-system)"),
            std::string::npos)
      << out;
}

TEST(ToolTest, DoctorSaysWhichModeIsActive) {
  std::string out;
  ASSERT_EQ(RunProgram({kTool, "doctor"}, {{"DMAHEAP_DIR", "/tmp/dmaheap-none/h"}}, &out), 0);
  EXPECT_NE(out.find("dmaheap: DMAHEAP_DIR=/tmp/dmaheap-none/h: no dmaheapd serves it"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("mode:        none (No such file or directory)\n"), std::string::npos) << out;
  ASSERT_EQ(RunProgram({kTool, "doctor"}, {{"DMAHEAP_BACKEND", "embedded"}}, &out), 0);
  EXPECT_NE(out.find("mode:        embedded (no kernel heaps, no daemon: a System on board "
                     "'default' in each process)\n"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("inotify:     max_user_instances "), std::string::npos) << out;
  EXPECT_NE(out.find("page size:   4096\n"), std::string::npos) << out;
  EXPECT_EQ(out.find("shmem THP:   ["), std::string::npos) << "the mode in force, not the list";
  EXPECT_NE(out.find("real kernel importers"), std::string::npos) << out;
  Daemon d;
  ASSERT_TRUE(d.ready());
  ASSERT_EQ(RunProgram({kTool, "doctor"}, d.Env(), &out), 0);
  EXPECT_NE(out.find("mode:        daemon (dmaheapd in " + d.Env().at("DMAHEAP_DIR") + ")\n"),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("heaps:       default_cma_region linux,cma system system-uncached\n"), std::string::npos);
}

TEST(ToolTest, HelpOnEveryCommandAndUsageErrorsExitTwo) {
  for (const char* cmd : {"run", "heaps", "alloc", "bufinfo", "dump", "lsmod", "modinfo", "cma",
                          "board", "doctor", "insmod", "rmmod", "modprobe", "stats", "barrier"}) {
    std::string out;
    EXPECT_EQ(RunProgram({kTool, cmd, "--help"}, {}, &out), 0) << cmd;
    EXPECT_NE(out.find("Usage: "), std::string::npos) << cmd << ": " << out;
  }
  std::string out;
  EXPECT_EQ(RunProgram({kTool, "frobnicate"}, {}, &out), 2);
  EXPECT_EQ(RunProgram({kTool}, {}, &out), 2);
  EXPECT_EQ(RunProgram({kTool, "heaps", "--bogus"}, {}, &out), 2);
}

}  // namespace
}  // namespace dmaheap
