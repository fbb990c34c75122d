#include "dmaheap/c/dmaheap.h"

#include <fcntl.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "dmaheap/uapi/linux/dma-buf.h"
#include "dmaheap/uapi/linux/dma-heap.h"
#include "dmaheap/version.h"

extern "C" int dmaheap_c_smoke(void);

namespace {

TEST(CApiTest, SmokeFromC) { EXPECT_EQ(dmaheap_c_smoke(), 0); }

extern "C" int dmaheap_c_version_matches(void);
TEST(CApiTest, TheRuntimeVersionIsTheHeadersFromC) {
  EXPECT_EQ(dmaheap_c_version_matches(), 1);
  EXPECT_STREQ(dmaheap_version(), DMAHEAP_VERSION_STRING);
  EXPECT_EQ(dmaheap_version_number(), DMAHEAP_VERSION_MAJOR * 10000 + DMAHEAP_VERSION_MINOR * 100 +
                                          DMAHEAP_VERSION_PATCH);
}

TEST(CApiTest, NullHandlesAreEinval) {
  int fd = -1;
  size_t n = 0;
  uint64_t a = 0, b = 0;
  EXPECT_EQ(dmaheap_system_boot(1 << 20, nullptr), -EINVAL);
  EXPECT_EQ(dmaheap_alloc(nullptr, "system", 4096, O_RDWR, 0, &fd), -EINVAL);
  EXPECT_EQ(dmaheap_heap_count(nullptr, &n), -EINVAL);
  EXPECT_EQ(dmaheap_drain(nullptr), -EINVAL);
  EXPECT_EQ(dmaheap_memory(nullptr, &a, &b), -EINVAL);
  EXPECT_EQ(dmaheap_bufinfo(nullptr, nullptr, 0, &n), -EINVAL);
  dmaheap_system_destroy(nullptr);
}

TEST(CApiTest, ErrorsAreNegativeErrno) {
  dmaheap_system* sys = nullptr;
  EXPECT_EQ(dmaheap_system_boot(12345, &sys), -EINVAL);  // not page-aligned
  ASSERT_EQ(dmaheap_system_boot(16 << 20, &sys), 0);
  int fd = -1;
  EXPECT_EQ(dmaheap_alloc(sys, "nope", 4096, O_RDWR, 0, &fd), -ENOENT);
  EXPECT_EQ(dmaheap_alloc(sys, "system", 0, O_RDWR, 0, &fd), -EINVAL);
  EXPECT_EQ(dmaheap_alloc(sys, "system", 32 << 20, O_RDWR, 0, &fd), -ENOMEM);
  EXPECT_EQ(dmaheap_cpu_access_begin(0, 0), -ENOTTY);  // stdin is no buffer
  dma_heap_allocation_data data{4096, 0, O_RDWR | O_CLOEXEC, 0};
  ASSERT_EQ(dmaheap_heap_ioctl(sys, "system", DMA_HEAP_IOCTL_ALLOC, &data), 0);
  EXPECT_GT(data.fd, 0u);
  EXPECT_EQ(dmaheap_heap_ioctl(sys, "system", DMA_HEAP_IOCTL_ALLOC, nullptr), -EFAULT);
  dma_buf_sync s{0x8};
  EXPECT_EQ(dmaheap_buffer_ioctl(static_cast<int>(data.fd), DMA_BUF_IOCTL_SYNC, &s), -EINVAL);

  size_t count = 0;
  ASSERT_EQ(dmaheap_heap_count(sys, &count), 0);
  EXPECT_EQ(count, 2u);
  char name[16];
  EXPECT_EQ(dmaheap_heap_name(sys, 0, name, sizeof(name)), 0);
  EXPECT_STREQ(name, "system");
  EXPECT_EQ(dmaheap_heap_name(sys, 0, name, 3), -ERANGE);
  EXPECT_EQ(dmaheap_heap_name(sys, 1, name, sizeof(name)), 0);
  EXPECT_STREQ(name, "system-uncached");
  EXPECT_EQ(dmaheap_heap_name(sys, 2, name, sizeof(name)), -ENOENT);

  size_t needed = 0;
  EXPECT_EQ(dmaheap_bufinfo(sys, nullptr, 0, &needed), -ERANGE);
  std::vector<char> text(needed);
  ASSERT_EQ(dmaheap_bufinfo(sys, text.data(), text.size(), &needed), 0);
  EXPECT_NE(std::string(text.data()).find("Total 1 objects, 4096 bytes"), std::string::npos);
  close(static_cast<int>(data.fd));
  uint64_t total = 0, free_pages = 0;
  ASSERT_EQ(dmaheap_memory(sys, &total, &free_pages), 0);
  EXPECT_EQ(total, free_pages);
  dmaheap_system_destroy(sys);
}

TEST(CApiTest, BoardsAndClients) {
  dmaheap_system* sys = nullptr;
  ASSERT_EQ(dmaheap_system_boot_board("hikey960", &sys), 0);
  size_t count = 0;
  ASSERT_EQ(dmaheap_heap_count(sys, &count), 0);
  EXPECT_EQ(count, 4u);
  dmaheap_system_destroy(sys);
  testing::internal::CaptureStderr();
  EXPECT_EQ(dmaheap_system_boot_board("nosuch", &sys), -ENOENT);
  testing::internal::GetCapturedStderr();

  dmaheap_client* client = nullptr;
  EXPECT_EQ(dmaheap_client_open(7, nullptr, &client), -EINVAL);
  EXPECT_EQ(dmaheap_client_open(DMAHEAP_BACKEND_EMBEDDED, nullptr, nullptr), -EINVAL);
  ASSERT_EQ(dmaheap_client_open(DMAHEAP_BACKEND_EMBEDDED, "db845c", &client), 0);
  EXPECT_EQ(dmaheap_client_backend(client), DMAHEAP_BACKEND_EMBEDDED);
  ASSERT_EQ(dmaheap_client_heap_count(client, &count), 0);
  EXPECT_EQ(count, 2u);
  char name[16];
  EXPECT_EQ(dmaheap_client_heap_name(client, 0, name, sizeof(name)), 0);
  EXPECT_STREQ(name, "system");
  EXPECT_EQ(dmaheap_client_heap_name(client, 2, name, sizeof(name)), -ENOENT);
  int fd = -1;
  EXPECT_EQ(dmaheap_client_alloc(client, "linux,cma", 4096, O_RDWR | O_CLOEXEC, 0, &fd), -ENOENT)
      << "db845c has no CMA heap";
  EXPECT_EQ(dmaheap_client_alloc(client, "system", 0, O_RDWR | O_CLOEXEC, 0, &fd), -EINVAL);
  ASSERT_EQ(dmaheap_client_alloc(client, "system", 4096, O_RDWR | O_CLOEXEC, 0, &fd), 0);
  EXPECT_EQ(dmaheap_client_set_name(client, fd, "c-named"), 0);
  EXPECT_EQ(dmaheap_client_set_name(client, fd, "0123456789012345678901234567890123"), -EINVAL);
  close(fd);
  EXPECT_EQ(dmaheap_client_backend(nullptr), -EINVAL);
  dmaheap_client_close(client);
}

}  // namespace

TEST(CApiTest, AttachAndAllocateForDevices) {
  dmaheap_client* client = nullptr;
  ASSERT_EQ(dmaheap_client_open(DMAHEAP_BACKEND_EMBEDDED, "hikey960", &client), 0);
  int fd = -1;
  ASSERT_EQ(dmaheap_client_alloc(client, "system", 8 << 20, O_RDWR | O_CLOEXEC, 0, &fd), 0);
  dmaheap_attachment* a = nullptr;
  EXPECT_EQ(dmaheap_client_attach(client, fd, "dpe@e8600000", 0, &a), -EINVAL)
      << "the display takes DMA-contiguous buffers only";
  EXPECT_EQ(dmaheap_client_attach(client, fd, "nosuch", 0, &a), -ENODEV);
  EXPECT_EQ(dmaheap_client_attach(client, fd, "dpe@e8600000", 3, &a), -EINVAL) << "direction";
  close(fd);

  const char* devices[] = {"dpe@e8600000"};
  char heap[32];
  ASSERT_EQ(dmaheap_client_alloc_for(client, devices, 1, 8 << 20, 1, &fd, heap, sizeof(heap)), 0);
  EXPECT_STREQ(heap, "default_cma_region");
  ASSERT_EQ(dmaheap_client_attach(client, fd, "dpe@e8600000", 1, &a), 0);
  dmaheap_dma_segment segments[4];
  ASSERT_EQ(dmaheap_attachment_segments(a, segments, 4), 1u);
  EXPECT_EQ(segments[0].length, 8u << 20);
  EXPECT_EQ(dmaheap_attachment_segments(a, nullptr, 0), 1u);
  dmaheap_attachment_detach(a);
  dmaheap_attachment_detach(nullptr);
  close(fd);
  const char* unknown[] = {"gpu"};
  EXPECT_EQ(dmaheap_client_alloc_for(client, unknown, 1, 4096, 1, &fd, nullptr, 0), -ENODEV);
  dmaheap_client_close(client);

  ASSERT_EQ(dmaheap_client_open(DMAHEAP_BACKEND_EMBEDDED, "db845c", &client), 0);
  ASSERT_EQ(dmaheap_client_alloc(client, "system", 8 << 20, O_RDWR | O_CLOEXEC, 0, &fd), 0);
  ASSERT_EQ(dmaheap_client_attach(client, fd, "video-codec@aa00000", 0, &a), 0);
  ASSERT_EQ(dmaheap_attachment_segments(a, segments, 4), 1u);
  EXPECT_EQ(segments[0].address, 0xdf800000u);
  dmaheap_client_close(client);  // detaches what the client's importer holds
  dmaheap_attachment_detach(a);  // … so this only frees the handle
  close(fd);
}
