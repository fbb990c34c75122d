// The daemon's heap directory: one listening socket per heap with the mode that stands in for
// the device node's, built aside and renamed into place; refusals that leave nothing behind;
// heaps that come and go after boot (Sync); and the --heap-mode argument. Heaps come from a
// HeapRegistry of the heap layer's test harness, in a private temporary directory.

#include "service/heap_dir.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include "heap/test_heap.h"

namespace dmaheap {
namespace {

std::set<std::string> Entries(const std::string& dir) {
  std::set<std::string> out;
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return out;
  while (dirent* e = readdir(d)) {
    const std::string name = e->d_name;
    if (name != "." && name != "..") out.insert(name);
  }
  closedir(d);
  return out;
}

bool Exists(const std::string& path) {
  struct stat st {};
  return lstat(path.c_str(), &st) == 0;
}

// connect()'s errno on a SOCK_SEQPACKET socket at `path`; 0 when a listener took it.
int ConnectErrno(const std::string& path) {
  UniqueFd fd(socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0));
  if (!fd) return errno;
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path)) return ENAMETOOLONG;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  return connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 ? 0 : errno;
}

class HeapDirTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const char* tmp = getenv("TMPDIR");
    base_ = std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/heap_dir_test.XXXXXX";
    ASSERT_NE(mkdtemp(base_.data()), nullptr) << strerror(errno);
    config_.heap_dir = base_ + "/dma_heap";
    config_.default_mode.mode = 0640;
    for (const char* name : {"system", "camera", "linux,cma"}) heaps_.push_back(AddHeap(name));
  }
  void TearDown() override {
    dir_.reset();
    std::error_code ignored;
    std::filesystem::remove_all(base_, ignored);
  }

  DmaHeap* AddHeap(const std::string& name) {
    DmaHeapExportInfo info;
    info.name = name;
    info.ops = &ops_;
    Result<DmaHeap*> heap = harness_.registry().Add(info);
    EXPECT_TRUE(heap.ok()) << name << ": " << strerror(heap.error());
    return heap.ok() ? *heap : nullptr;
  }

  std::string Path(const std::string& name) const { return config_.heap_dir + "/" + name; }

  struct stat Stat(const std::string& name) const {
    struct stat st {};
    EXPECT_EQ(lstat(Path(name).c_str(), &st), 0) << Path(name);
    return st;
  }

  // Create, expected to succeed.
  void Create() {
    Result<std::unique_ptr<HeapDirectory>> dir = HeapDirectory::Create(config_, heaps_);
    ASSERT_TRUE(dir.ok()) << strerror(dir.error());
    dir_ = std::move(dir).value();
  }

  testing_util::PageHeapOps ops_;  // outlives the heaps that point at it
  testing_util::HeapHarness harness_{16};
  std::string base_;
  ServerConfig config_;
  std::vector<DmaHeap*> heaps_;
  std::unique_ptr<HeapDirectory> dir_;
};

TEST_F(HeapDirTest, OneListeningSocketPerHeapAndNothingElse) {
  ASSERT_NO_FATAL_FAILURE(Create());
  EXPECT_EQ(dir_->path(), config_.heap_dir);
  EXPECT_EQ(Entries(config_.heap_dir), (std::set<std::string>{"system", "camera", "linux,cma"}));
  EXPECT_EQ(Entries(base_), std::set<std::string>{"dma_heap"}) << "no <dir>.tmp.* left behind";
  struct stat st {};
  ASSERT_EQ(stat(config_.heap_dir.c_str(), &st), 0);
  EXPECT_TRUE(S_ISDIR(st.st_mode));
  EXPECT_EQ(st.st_mode & 07777, 0755u);
  for (const char* name : {"system", "camera", "linux,cma"}) {
    SCOPED_TRACE(name);
    EXPECT_TRUE(S_ISSOCK(Stat(name).st_mode));
    EXPECT_EQ(ConnectErrno(Path(name)), 0) << "listening once the directory is visible";
  }
  EXPECT_EQ(dir_->listeners().size(), 3u);
}

TEST_F(HeapDirTest, SocketModesStandInForDeviceNodes) {
  // A group this process may give a file: any as root, else its own.
  const gid_t group = geteuid() == 0 ? 4242 : getegid();
  config_.heap_modes["linux,cma"] = HeapSocketMode{0660, group, /*set_gid=*/true};
  ASSERT_NO_FATAL_FAILURE(Create());
  EXPECT_EQ(Stat("system").st_mode & 07777, 0666u) << "system: 0666 whatever the default";
  EXPECT_EQ(Stat("camera").st_mode & 07777, 0640u) << "default_mode";
  const struct stat cma = Stat("linux,cma");
  EXPECT_EQ(cma.st_mode & 07777, 0660u);
  EXPECT_EQ(cma.st_gid, group);
  EXPECT_EQ(Stat("camera").st_gid, getegid()) << "no group configured: the creator's";
}

TEST_F(HeapDirTest, ConfiguredModeOverridesSystemsDefault) {
  config_.heap_modes["system"] = HeapSocketMode{0600};
  ASSERT_NO_FATAL_FAILURE(Create());
  EXPECT_EQ(Stat("system").st_mode & 07777, 0600u);
}

TEST_F(HeapDirTest, ExistingEmptyDirectoryIsReplaced) {
  ASSERT_EQ(mkdir(config_.heap_dir.c_str(), 0700), 0);
  ASSERT_NO_FATAL_FAILURE(Create());
  EXPECT_EQ(Entries(config_.heap_dir).size(), 3u);
  EXPECT_EQ(Entries(base_), std::set<std::string>{"dma_heap"});
}

TEST_F(HeapDirTest, ExistingNonEmptyDirectoryIsEexist) {
  ASSERT_EQ(mkdir(config_.heap_dir.c_str(), 0700), 0);
  const std::string other = Path("other");
  ASSERT_EQ(close(open(other.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600)), 0);
  testing::internal::CaptureStderr();
  Result<std::unique_ptr<HeapDirectory>> dir = HeapDirectory::Create(config_, heaps_);
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_EQ(dir.error(), EEXIST);
  EXPECT_NE(err.find(config_.heap_dir), std::string::npos) << err;
  EXPECT_NE(err.find("exists"), std::string::npos) << err;
  EXPECT_EQ(Entries(config_.heap_dir), std::set<std::string>{"other"}) << "left as it was";
  EXPECT_EQ(Entries(base_), std::set<std::string>{"dma_heap"});
}

TEST_F(HeapDirTest, ExistingFileIsEexist) {
  ASSERT_EQ(close(open(config_.heap_dir.c_str(), O_CREAT | O_WRONLY | O_CLOEXEC, 0600)), 0);
  testing::internal::CaptureStderr();
  Result<std::unique_ptr<HeapDirectory>> dir = HeapDirectory::Create(config_, heaps_);
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_EQ(dir.error(), EEXIST);
  EXPECT_NE(err.find(config_.heap_dir), std::string::npos) << err;
  struct stat st {};
  ASSERT_EQ(stat(config_.heap_dir.c_str(), &st), 0);
  EXPECT_TRUE(S_ISREG(st.st_mode)) << "the file is left alone";
  EXPECT_EQ(Entries(base_), std::set<std::string>{"dma_heap"});
}

// Sockets are bound in "<dir>.tmp.XXXXXX" first, so that path must fit a sockaddr_un too.
TEST_F(HeapDirTest, SocketPathTooLongIsEnametoolongWithNothingCreated) {
  const size_t room = 107 - (base_.size() + 1) - std::string(".tmp.XXXXXX/linux,cma").size();
  for (size_t len : {room + 1, room + 11, size_t{120}}) {
    SCOPED_TRACE(len);
    config_.heap_dir = base_ + "/" + std::string(len, 'd');
    testing::internal::CaptureStderr();
    Result<std::unique_ptr<HeapDirectory>> dir = HeapDirectory::Create(config_, heaps_);
    const std::string err = testing::internal::GetCapturedStderr();
    EXPECT_EQ(dir.error(), ENAMETOOLONG);
    EXPECT_NE(err.find(config_.heap_dir), std::string::npos) << "names the path: " << err;
    EXPECT_TRUE(Entries(base_).empty()) << "nothing created";
  }
  config_.heap_dir = base_ + "/" + std::string(room, 'd');
  ASSERT_NO_FATAL_FAILURE(Create()) << "the longest directory that fits";
  EXPECT_TRUE(S_ISSOCK(Stat("linux,cma").st_mode));
}

TEST_F(HeapDirTest, SyncBindsANewHeapInPlaceAndRemovesAGoneOne) {
  ASSERT_NO_FATAL_FAILURE(Create());
  DmaHeap* late = AddHeap("late");
  ASSERT_NE(late, nullptr);
  HeapDirectory::Change added = dir_->Sync(harness_.registry().List());
  // The harness's own heap ("test") was never in the directory: it is new to Sync as well.
  std::set<std::string> names;
  int late_fd = -1;
  for (const HeapDirectory::Listener& l : added.added) {
    names.insert(l.heap->name());
    if (l.heap == late) late_fd = l.fd;
  }
  EXPECT_EQ(names, (std::set<std::string>{"late", "test"}));
  EXPECT_TRUE(added.removed.empty());
  ASSERT_GE(late_fd, 0);
  EXPECT_EQ(dir_->HeapOf(late_fd), late);
  EXPECT_TRUE(S_ISSOCK(Stat("late").st_mode));
  EXPECT_EQ(Stat("late").st_mode & 07777, 0640u);
  EXPECT_EQ(ConnectErrno(Path("late")), 0);
  EXPECT_EQ(Entries(base_), std::set<std::string>{"dma_heap"}) << "bound in place";

  HeapDirectory::Change again = dir_->Sync(harness_.registry().List());
  EXPECT_TRUE(again.added.empty()) << "nothing changed";
  EXPECT_TRUE(again.removed.empty());

  harness_.registry().Remove(late);
  HeapDirectory::Change removed = dir_->Sync(harness_.registry().List());
  EXPECT_TRUE(removed.added.empty());
  ASSERT_EQ(removed.removed.size(), 1u);
  EXPECT_EQ(removed.removed[0].heap, late) << "reported by address; the heap object is gone";
  EXPECT_EQ(removed.removed[0].fd, late_fd);
  EXPECT_EQ(fcntl(late_fd, F_GETFD), -1) << "the listener is closed";
  EXPECT_FALSE(Exists(Path("late")));
  EXPECT_EQ(ConnectErrno(Path("late")), ENOENT);
  EXPECT_EQ(dir_->HeapOf(late_fd), nullptr);
  EXPECT_EQ(Entries(config_.heap_dir),
            (std::set<std::string>{"system", "camera", "linux,cma", "test"}));
}

TEST_F(HeapDirTest, HeapOfMapsListenersToHeaps) {
  ASSERT_NO_FATAL_FAILURE(Create());
  const std::vector<HeapDirectory::Listener> listeners = dir_->listeners();
  ASSERT_EQ(listeners.size(), heaps_.size());
  std::set<DmaHeap*> seen;
  for (const HeapDirectory::Listener& l : listeners) {
    SCOPED_TRACE(l.heap->name());
    EXPECT_EQ(dir_->HeapOf(l.fd), l.heap);
    EXPECT_EQ(fcntl(l.fd, F_GETFD) & FD_CLOEXEC, FD_CLOEXEC);
    EXPECT_NE(fcntl(l.fd, F_GETFL) & O_NONBLOCK, 0);
    seen.insert(l.heap);
  }
  EXPECT_EQ(seen, std::set<DmaHeap*>(heaps_.begin(), heaps_.end()));
  EXPECT_EQ(dir_->HeapOf(-1), nullptr);
  EXPECT_EQ(dir_->HeapOf(STDIN_FILENO), nullptr);
}

TEST_F(HeapDirTest, DestructorRemovesEverything) {
  ASSERT_NO_FATAL_FAILURE(Create());
  const int fd = dir_->listeners().front().fd;
  dir_.reset();
  EXPECT_FALSE(Exists(config_.heap_dir));
  EXPECT_TRUE(Entries(base_).empty());
  EXPECT_EQ(fcntl(fd, F_GETFD), -1) << "listeners are closed";
}

// ---- ParseHeapMode -----------------------------------------------------------------------

TEST(ParseHeapModeTest, ModeAndOptionalGroup) {
  Result<std::pair<std::string, HeapSocketMode>> plain = ParseHeapMode("x=0640");
  ASSERT_TRUE(plain.ok());
  EXPECT_EQ(plain->first, "x");
  EXPECT_EQ(plain->second.mode, 0640u);
  EXPECT_FALSE(plain->second.set_gid);

  Result<std::pair<std::string, HeapSocketMode>> numeric = ParseHeapMode("x=0640:0");
  ASSERT_TRUE(numeric.ok());
  EXPECT_EQ(numeric->second.mode, 0640u);
  EXPECT_TRUE(numeric->second.set_gid);
  EXPECT_EQ(numeric->second.gid, 0u);

  Result<std::pair<std::string, HeapSocketMode>> named = ParseHeapMode("x=0640:root");
  ASSERT_TRUE(named.ok());
  EXPECT_TRUE(named->second.set_gid);
  EXPECT_EQ(named->second.gid, 0u);

  Result<std::pair<std::string, HeapSocketMode>> cma = ParseHeapMode("linux,cma=660:1234");
  ASSERT_TRUE(cma.ok());
  EXPECT_EQ(cma->first, "linux,cma");
  EXPECT_EQ(cma->second.mode, 0660u) << "octal with or without the leading 0";
  EXPECT_EQ(cma->second.gid, 1234u);

  Result<std::pair<std::string, HeapSocketMode>> widest = ParseHeapMode("y=0777");
  ASSERT_TRUE(widest.ok());
  EXPECT_EQ(widest->second.mode, 0777u);
}

TEST(ParseHeapModeTest, MalformedIsEinvalWithAMessage) {
  for (const char* text :
       {"x", "=0640", "x=", "x=999", "x=1000", "x=0640:no_such_group_zz", "", "x=rw", "x=06a0",
        "x= 640", "x=+640", "x=-1"}) {
    SCOPED_TRACE(text);
    testing::internal::CaptureStderr();
    Result<std::pair<std::string, HeapSocketMode>> r = ParseHeapMode(text);
    const std::string err = testing::internal::GetCapturedStderr();
    EXPECT_EQ(r.error(), EINVAL);
    EXPECT_NE(err.find("--heap-mode"), std::string::npos) << err;
    EXPECT_NE(err.find(text), std::string::npos) << "names the argument: " << err;
  }
}

// A GROUP number must name a gid_t: one that would wrap ("4294967296" to root's group 0),
// (gid_t)-1 (chown's "leave the group alone"), a sign, blanks, or an empty group are refused
// rather than silently meaning something else.
TEST(ParseHeapModeTest, GroupNumberOutsideGidTIsEinval) {
  for (const char* text : {"x=0640:4294967296", "x=0640:4294967295", "x=0640:99999999999",
                           "x=0640:-1", "x=0640:+5", "x=0640: 5", "x=0640:"}) {
    SCOPED_TRACE(text);
    testing::internal::CaptureStderr();
    Result<std::pair<std::string, HeapSocketMode>> r = ParseHeapMode(text);
    const std::string err = testing::internal::GetCapturedStderr();
    EXPECT_EQ(r.error(), EINVAL);
    EXPECT_NE(err.find(text), std::string::npos) << err;
  }
}

}  // namespace
}  // namespace dmaheap
