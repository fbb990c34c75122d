// libdmabufheap's own test suite (system/memory/libdmabufheap/tests/dmabuf_heap_test.cpp, the
// current ION-less file; android-facts.md §2.8), rewritten against the drop-in: the same cases,
// sizes, calls and assertions. The binary runs once per backend: DMAHEAP_BACKEND=daemon starts a
// private dmaheapd for the run (main below), DMAHEAP_BACKEND=embedded boots in-process.
#include <BufferAllocator/BufferAllocator.h>
#include <sys/mman.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <thread>
#include <vector>

#include "daemon_fixture.h"
#include "dmaheap/client.h"

namespace {

class DmaBufHeapTest : public virtual ::testing::Test {
  public:
    DmaBufHeapTest() : allocator(new BufferAllocator()) {}
    std::unique_ptr<BufferAllocator> allocator;
};

const std::vector<size_t> kSizes = {static_cast<size_t>(getpagesize()), 65536, 1048576, 2097152};

class DmaBufHeapConcurrentAccessTest : public ::testing::Test {
  public:
    void SetUp() override { allocator = new BufferAllocator(); }
    void TearDown() override { delete allocator; }
    void DoAlloc(bool cpu_access_needed) {
        int map_fd = allocator->AllocSystem(cpu_access_needed, getpagesize());
        ASSERT_GE(map_fd, 0);
        void* ptr = mmap(NULL, getpagesize(), PROT_READ | PROT_WRITE, MAP_SHARED, map_fd, 0);
        ASSERT_TRUE(ptr != MAP_FAILED);
        int ret = allocator->CpuSyncStart(map_fd, kSyncReadWrite);
        ASSERT_EQ(0, ret);
        ret = allocator->CpuSyncEnd(map_fd, kSyncReadWrite);
        ASSERT_EQ(0, ret);
        ASSERT_EQ(0, munmap(ptr, getpagesize()));
        ASSERT_EQ(0, close(map_fd));
    }
    BufferAllocator* allocator = nullptr;
};

TEST_F(DmaBufHeapConcurrentAccessTest, ConcurrentAllocTest) {
    std::vector<std::thread> threads(100);
    for (auto& thread : threads) {
        thread = std::thread([this] {
            DoAlloc(true);
            DoAlloc(false);
        });
    }
    for (auto& thread : threads) thread.join();
}

TEST_F(DmaBufHeapTest, Allocate) {
    for (bool cpu_access_needed : {false, true}) {
        for (size_t size : kSizes) {
            int fd = allocator->AllocSystem(cpu_access_needed, size);
            ASSERT_GE(fd, 0);
            ASSERT_EQ(close(fd), 0);  // free the buffer
        }
    }
}

TEST_F(DmaBufHeapTest, RepeatedAllocate) {
    for (bool cpu_access_needed : {false, true}) {
        for (size_t size : kSizes) {
            for (unsigned int i = 0; i < 1024; i++) {
                int fd = allocator->AllocSystem(cpu_access_needed, size);
                ASSERT_GE(fd, 0);
                ASSERT_EQ(close(fd), 0);  // free the buffer
            }
        }
    }
}

/*
 * Make sure all heaps always return zeroed pages
 */
TEST_F(DmaBufHeapTest, Zeroed) {
    constexpr unsigned int kNumFds = 16;
    int fds[kNumFds];
    for (unsigned int i = 0; i < kNumFds; i++) {
        int map_fd = allocator->Alloc(kDmabufSystemHeapName, 4096);
        ASSERT_GE(map_fd, 0);
        void* ptr = mmap(NULL, 4096, PROT_WRITE, MAP_SHARED, map_fd, 0);
        ASSERT_TRUE(ptr != MAP_FAILED);
        ASSERT_EQ(0, allocator->CpuSyncStart(map_fd, kSyncWrite));
        memset(ptr, 0xaa, 4096);
        ASSERT_EQ(0, allocator->CpuSyncEnd(map_fd, kSyncWrite));
        ASSERT_EQ(0, munmap(ptr, 4096));
        fds[i] = map_fd;
    }
    for (unsigned int i = 0; i < kNumFds; i++) ASSERT_EQ(close(fds[i]), 0);

    int map_fd = allocator->Alloc(kDmabufSystemHeapName, 4096);
    ASSERT_GE(map_fd, 0);
    void* ptr = mmap(NULL, 4096, PROT_READ, MAP_SHARED, map_fd, 0);
    ASSERT_TRUE(ptr != MAP_FAILED);
    ASSERT_EQ(0, allocator->CpuSyncStart(map_fd, kSyncRead));
    std::vector<char> zeros(4096, 0);
    ASSERT_EQ(0, memcmp(ptr, zeros.data(), 4096));
    ASSERT_EQ(0, allocator->CpuSyncEnd(map_fd, kSyncRead));
    ASSERT_EQ(0, munmap(ptr, 4096));
    ASSERT_EQ(0, close(map_fd));
}

TEST_F(DmaBufHeapTest, TestCpuSync) {
    for (auto sync_type : {kSyncRead, kSyncWrite, kSyncReadWrite}) {
        int map_fd = allocator->Alloc(kDmabufSystemHeapName, 4096);
        ASSERT_GE(map_fd, 0);
        void* ptr = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, map_fd, 0);
        ASSERT_TRUE(ptr != MAP_FAILED);
        ASSERT_EQ(0, allocator->CpuSyncStart(map_fd, sync_type));
        ASSERT_EQ(0, allocator->CpuSyncEnd(map_fd, sync_type));
        ASSERT_EQ(0, munmap(ptr, 4096));
        ASSERT_EQ(0, close(map_fd));
    }
}

TEST_F(DmaBufHeapTest, TestDeviceCapabilityCheck) {
    auto heap_list = allocator->GetDmabufHeapList();
    ASSERT_TRUE(!heap_list.empty());
}

TEST_F(DmaBufHeapTest, TestDmabufSystemHeapCompliance) {
    auto heap_list = allocator->GetDmabufHeapList();
    ASSERT_TRUE(heap_list.find("system") != heap_list.end());
    for (bool cpu_access_needed : {false, true}) {
        int map_fd = allocator->AllocSystem(cpu_access_needed, 4096);
        ASSERT_GE(map_fd, 0);
        void* ptr = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, map_fd, 0);
        ASSERT_TRUE(ptr != MAP_FAILED);
        ASSERT_EQ(0, allocator->CpuSyncStart(map_fd, kSyncRead));
        std::vector<char> zeros(4096, 0);
        ASSERT_EQ(0, memcmp(ptr, zeros.data(), 4096));
        ASSERT_EQ(0, allocator->CpuSyncEnd(map_fd, kSyncRead));
        ASSERT_EQ(0, munmap(ptr, 4096));
        ASSERT_EQ(0, close(map_fd));
    }
}

// dmaheap's additions: what the drop-in promises beyond the upstream suite.
TEST_F(DmaBufHeapTest, RunsOnTheBackendItWasGiven) {
    const char* want = std::getenv("DMAHEAP_BACKEND");
    ASSERT_NE(want, nullptr) << "ctest sets DMAHEAP_BACKEND";
    auto client = dmaheap::Client::Open();
    ASSERT_TRUE(client.ok());
    EXPECT_STREQ(dmaheap::BackendName((*client)->backend()), want);
}

TEST_F(DmaBufHeapTest, ErrorsAreMinusOneWithErrno) {
    errno = 0;
    EXPECT_EQ(allocator->Alloc("no-such-heap", 4096), -1);
    EXPECT_EQ(errno, ENOENT);
    errno = 0;
    EXPECT_EQ(allocator->Alloc(kDmabufSystemHeapName, 0), -1);
    EXPECT_EQ(errno, EINVAL) << "a zero length, as DMA_HEAP_IOCTL_ALLOC answers";
    errno = 0;
    EXPECT_EQ(allocator->CpuSyncStart(12345, kSyncRead), -1);
    EXPECT_EQ(errno, EBADF);
    errno = 0;
    EXPECT_EQ(allocator->CpuSyncStart(0, kSyncRead), -1) << "stdin is no dma-buf";
    EXPECT_EQ(errno, ENOTTY);
}

TEST_F(DmaBufHeapTest, BuffersAreNamedAfterTheirHeap) {
    int fd = allocator->Alloc(kDmabufSystemHeapName, 4096);
    ASSERT_GE(fd, 0);
    EXPECT_EQ(BufferAllocator::DmabufSetName(fd, std::string(40, 'x')), 0) << "truncated";
    close(fd);
}

}  // namespace

int main(int argc, char** argv) {
    ::testing::InitGoogleTest(&argc, argv);
    std::unique_ptr<dmaheap::testing_util::Daemon> daemon;
    const char* backend = std::getenv("DMAHEAP_BACKEND");
    if (backend != nullptr && std::strcmp(backend, "daemon") == 0) {
        daemon = std::make_unique<dmaheap::testing_util::Daemon>();
        if (!daemon->ready()) {
            std::fprintf(stderr, "dmabuf_heap_test: the private dmaheapd did not start\n");
            return 1;
        }
        for (const auto& [key, value] : daemon->Env()) setenv(key.c_str(), value.c_str(), 1);
    }
    return RUN_ALL_TESTS();
}
