// The dma-buf ioctl cases (conformance/dmabuf_ioctl_cases.h) through the embedded API's
// BufferIoctl, on buffers of a System booted here: the same table, and the same answers, as the
// shim and the supervisor give under `dmaheap run` (the dmabuf_ioctl_conformance ctest entries).

#include <fcntl.h>
#include <gtest/gtest.h>

#include <cstdio>

#include "conformance/dmabuf_ioctl_cases.h"
#include "dmaheap/dmaheap.h"
#include "test_util.h"

namespace dmaheap {
namespace {

int EmbeddedIoctl(int fd, unsigned long cmd, void* arg) { return BufferIoctl(fd, cmd, arg); }

TEST(DmaBufIoctlCasesTest, EmbeddedAnswersEveryCaseAsTheKernel) {
  std::unique_ptr<System> sys = testing_util::BootSystem(uint64_t{64} << 20);
  Result<UniqueFd> rw = sys->Allocate("system", 16384, O_RDWR | O_CLOEXEC);
  Result<UniqueFd> ro = sys->Allocate("system", 16384, O_RDONLY | O_CLOEXEC);
  ASSERT_TRUE(rw.ok() && ro.ok());
  char* log = nullptr;
  size_t log_len = 0;
  FILE* out = open_memstream(&log, &log_len);
  ASSERT_NE(out, nullptr);
  const int failed = dmabuf_run_cases(rw->get(), ro->get(), EmbeddedIoctl, out);
  std::fclose(out);
  EXPECT_EQ(failed, 0) << log;
  std::free(log);
  EXPECT_GE(sizeof(kDmabufCases) / sizeof(kDmabufCases[0]), 40u);
}

}  // namespace
}  // namespace dmaheap
