// What the daemon's control socket answers, on a small booted SystemCore (64 MiB, the system
// heap module): the views in the formats control.h documents, with a live buffer counted and
// its release reflected at once, the module commands' refusals, and EOPNOTSUPP for heap ops.

#include "service/control.h"

#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cinttypes>
#include <cstdio>
#include <sstream>
#include <string>
#include <vector>

#include "heap/alloc.h"
#include "system/system_core.h"

namespace dmaheap {
namespace {

constexpr uint64_t kRamBytes = uint64_t{64} << 20;
constexpr uint64_t kBufferBytes = 64 << 10;

std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

// The first line of `text` that starts with `prefix`, or "".
std::string LineStartingWith(const std::string& text, const std::string& prefix) {
  for (const std::string& line : Lines(text)) {
    if (line.rfind(prefix, 0) == 0) return line;
  }
  return {};
}

// One parsed "heap NAME buffers N bytes N peak N allocations N failures N contiguous B cached B
// max_size N" line.
struct HeapLine {
  char name[64] = {};
  uint64_t buffers = 0, bytes = 0, peak = 0, allocations = 0, failures = 0, max_size = 0;
  int contiguous = -1, cached = -1;
  bool Parse(const std::string& line) {
    return std::sscanf(line.c_str(),
                       "heap %63s buffers %" SCNu64 " bytes %" SCNu64 " peak %" SCNu64
                       " allocations %" SCNu64 " failures %" SCNu64
                       " contiguous %d cached %d"
                       " max_size %" SCNu64,
                       name, &buffers, &bytes, &peak, &allocations, &failures, &contiguous, &cached,
                       &max_size) == 9;
  }
};

class ControlTest : public ::testing::Test {
 protected:
  void SetUp() override {
    SystemConfig config;
    config.ram_bytes = kRamBytes;
    config.modules = {"system_heap"};
    Result<std::unique_ptr<SystemCore>> core = SystemCore::Boot(config);
    ASSERT_TRUE(core.ok()) << strerror(core.error());
    core_ = std::move(core).value();
  }

  // A live buffer of the system heap, named "control_test".
  Allocation Allocate() {
    AllocRequest request;
    request.heap = core_->heaps().Find("system");
    EXPECT_NE(request.heap, nullptr);
    request.len = kBufferBytes;
    request.owner = core_->self();
    request.name = "control_test";
    Result<Allocation> a = DmaHeapAllocate(request);
    EXPECT_TRUE(a.ok()) << strerror(a.error());
    return a.ok() ? std::move(a).value() : Allocation{};
  }

  ControlAnswer Handle(Op op, std::string_view arg = {}) { return HandleControl(*core_, op, arg); }

  std::unique_ptr<SystemCore> core_;
};

TEST_F(ControlTest, BarrierIsAnEmptyAnswer) {
  const ControlAnswer a = Handle(Op::kBarrier);
  EXPECT_EQ(a.status, 0);
  EXPECT_EQ(a.text, "");
  EXPECT_FALSE(a.heaps_changed);
}

TEST_F(ControlTest, StatsMemoryAndBuddyLines) {
  const ControlAnswer a = Handle(Op::kStats);
  ASSERT_EQ(a.status, 0);
  EXPECT_FALSE(a.heaps_changed);
  const std::vector<std::string> lines = Lines(a.text);
  ASSERT_GE(lines.size(), 3u) << a.text;
  uint64_t total = 0, free = 0;
  ASSERT_EQ(std::sscanf(lines[0].c_str(), "memory total_pages %" SCNu64 " free_pages %" SCNu64,
                        &total, &free),
            2)
      << lines[0];
  EXPECT_EQ(total, kRamBytes / 4096);
  EXPECT_EQ(free, core_->pages().free_pages());
  // "buddy" and the free blocks per order, lowest order first: they add up to free_pages.
  std::istringstream buddy(lines[1]);
  std::string word;
  buddy >> word;
  EXPECT_EQ(word, "buddy");
  uint64_t pages = 0;
  unsigned order = 0;
  for (uint64_t blocks; buddy >> blocks; ++order) pages += blocks << order;
  EXPECT_TRUE(buddy.eof()) << "only numbers after \"buddy\": " << lines[1];
  EXPECT_EQ(order, core_->pages().FreeBlocks().size());
  EXPECT_EQ(pages, free);
  EXPECT_EQ(a.text, StatsText(*core_));
}

TEST_F(ControlTest, StatsCountALiveBufferAndItsRelease) {
  Allocation buffer = Allocate();
  ASSERT_TRUE(buffer.fd.valid());
  const ControlAnswer live = Handle(Op::kStats);
  ASSERT_EQ(live.status, 0);
  HeapLine heap;
  ASSERT_TRUE(heap.Parse(LineStartingWith(live.text, "heap system "))) << live.text;
  EXPECT_STREQ(heap.name, "system");
  EXPECT_EQ(heap.buffers, 1u);
  EXPECT_EQ(heap.bytes, kBufferBytes);
  EXPECT_EQ(heap.peak, kBufferBytes);
  EXPECT_EQ(heap.allocations, 1u);
  EXPECT_EQ(heap.failures, 0u);
  EXPECT_EQ(heap.contiguous, 0);
  EXPECT_EQ(heap.cached, 1);
  EXPECT_EQ(heap.max_size, 0u);
  uint64_t total = 0, free = 0;
  ASSERT_EQ(std::sscanf(live.text.c_str(), "memory total_pages %" SCNu64 " free_pages %" SCNu64,
                        &total, &free),
            2);
  EXPECT_EQ(free, total - kBufferBytes / 4096) << "the buffer's pages are taken";

  // Closed here, answered there: the release is processed before the view is taken.
  buffer.fd.reset();
  buffer.buffer.reset();
  const ControlAnswer released = Handle(Op::kStats);
  ASSERT_TRUE(heap.Parse(LineStartingWith(released.text, "heap system "))) << released.text;
  EXPECT_EQ(heap.buffers, 0u);
  EXPECT_EQ(heap.bytes, 0u);
  EXPECT_EQ(heap.peak, kBufferBytes);
  EXPECT_EQ(heap.allocations, 1u);
  ASSERT_EQ(std::sscanf(released.text.c_str(), "memory total_pages %" SCNu64 " free_pages %" SCNu64,
                        &total, &free),
            2);
  EXPECT_EQ(free, total);
}

TEST_F(ControlTest, BufInfoListsTheLiveBuffer) {
  Allocation buffer = Allocate();
  ASSERT_TRUE(buffer.fd.valid());
  const ControlAnswer a = Handle(Op::kBufInfo);
  ASSERT_EQ(a.status, 0);
  EXPECT_FALSE(a.heaps_changed);
  EXPECT_NE(a.text.find("Dma-buf Objects:"), std::string::npos) << a.text;
  const std::string line = LineStartingWith(a.text, "00065536\t");
  ASSERT_FALSE(line.empty()) << a.text;
  EXPECT_NE(line.find("\tsystem\t"), std::string::npos) << "exp_name: " << line;
  EXPECT_NE(line.find("control_test"), std::string::npos) << "name: " << line;
  EXPECT_NE(a.text.find("Total 1 objects, 65536 bytes"), std::string::npos) << a.text;

  buffer.fd.reset();
  buffer.buffer.reset();
  const ControlAnswer after = Handle(Op::kBufInfo);
  EXPECT_NE(after.text.find("Total 0 objects, 0 bytes"), std::string::npos) << after.text;
}

TEST_F(ControlTest, LsmodListsThePermanentSystemHeap) {
  Allocation buffer = Allocate();
  ASSERT_TRUE(buffer.fd.valid());
  const ControlAnswer a = Handle(Op::kLsmod);
  ASSERT_EQ(a.status, 0);
  EXPECT_FALSE(a.heaps_changed);
  // "name size refcnt deps state address"
  const std::string line = LineStartingWith(a.text, "system_heap ");
  ASSERT_FALSE(line.empty()) << a.text;
  char name[64], deps[64], state[16];
  uint64_t size = 0, address = 0;
  long refcnt = -1;
  ASSERT_EQ(std::sscanf(line.c_str(), "%63s %" SCNu64 " %ld %63s %15s 0x%" SCNx64, name, &size,
                        &refcnt, deps, state, &address),
            6)
      << line;
  EXPECT_GT(size, 0u);
  EXPECT_EQ(refcnt, 1) << "the live buffer holds the module";
  EXPECT_STREQ(deps, "[permanent],");
  EXPECT_STREQ(state, "Live");
  EXPECT_NE(address, 0u);
}

TEST_F(ControlTest, ModinfoOfSystemHeap) {
  const ControlAnswer a = Handle(Op::kModinfo, "system_heap");
  ASSERT_EQ(a.status, 0);
  EXPECT_FALSE(a.heaps_changed);
  const std::string filename = LineStartingWith(a.text, "filename:");
  EXPECT_NE(filename.find("/system_heap.so"), std::string::npos) << a.text;
  EXPECT_NE(LineStartingWith(a.text, "license:").find("GPL v2"), std::string::npos) << a.text;
  EXPECT_EQ(LineStartingWith(a.text, "permanent:"), "permanent:      yes") << a.text;
}

TEST_F(ControlTest, ModinfoOfAnUnknownModuleIsEnoent) {
  testing::internal::CaptureStderr();
  const ControlAnswer a = Handle(Op::kModinfo, "no_such_module_zz");
  const std::string err = testing::internal::GetCapturedStderr();
  EXPECT_EQ(a.status, ENOENT);
  EXPECT_EQ(a.text, "");
  EXPECT_FALSE(a.heaps_changed);
  EXPECT_NE(err.find("no_such_module_zz"), std::string::npos) << err;
}

TEST_F(ControlTest, RmmodOfThePermanentSystemHeapIsEbusy) {
  const ControlAnswer a = Handle(Op::kRmmod, "system_heap");
  EXPECT_EQ(a.status, EBUSY);
  EXPECT_FALSE(a.heaps_changed);
  EXPECT_NE(core_->heaps().Find("system"), nullptr) << "still there";
  EXPECT_FALSE(LineStartingWith(Handle(Op::kLsmod).text, "system_heap ").empty());
}

TEST_F(ControlTest, ModuleCommandErrorsChangeNoHeaps) {
  testing::internal::CaptureStderr();
  const ControlAnswer rmmod = Handle(Op::kRmmod, "no_such_module_zz");
  const ControlAnswer modprobe = Handle(Op::kModprobe, "no_such_module_zz");
  testing::internal::GetCapturedStderr();
  EXPECT_EQ(rmmod.status, ENOENT);
  EXPECT_FALSE(rmmod.heaps_changed);
  EXPECT_EQ(modprobe.status, ENOENT);
  EXPECT_FALSE(modprobe.heaps_changed);
}

TEST_F(ControlTest, CmaWithoutAreasIsEmpty) {
  for (std::string_view arg : {"", "bitmap"}) {
    SCOPED_TRACE(arg);
    const ControlAnswer a = Handle(Op::kCma, arg);
    EXPECT_EQ(a.status, 0);
    EXPECT_EQ(a.text, "");
    EXPECT_FALSE(a.heaps_changed);
  }
}

TEST_F(ControlTest, HeapAndUnknownOpsAreEopnotsupp) {
  for (Op op :
       {Op::kHeapIoctl, Op::kSetName, Op::kAllocNamed, static_cast<Op>(0), static_cast<Op>(999)}) {
    SCOPED_TRACE(static_cast<uint32_t>(op));
    const ControlAnswer a = Handle(op, "system_heap");
    EXPECT_EQ(a.status, EOPNOTSUPP);
    EXPECT_EQ(a.text, "");
    EXPECT_FALSE(a.heaps_changed);
  }
}

}  // namespace
}  // namespace dmaheap
