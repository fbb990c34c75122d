/*
 * What `dmaheap run --sanitize=sync` must catch and must let be: a UAPI program (libc and
 * <linux/dma-heap.h>, <linux/dma-buf.h> only) whose first argument picks one access pattern on
 * a 16 KiB buffer from /dev/dma_heap/system ($PROBE_HEAP: another heap) named "probe-frame". It prints the buffer's inode
 * ("inode N") so a test can match the report, and exits with its second argument (default 0)
 * when nothing it checks itself went wrong, else 1. Built with -rdynamic, so backtraces name its
 * functions.
 *
 *   outside-write   a write at offset 8197 outside every bracket        (reported: write)
 *   outside-read    a read at offset 4096 outside every bracket          (reported: read)
 *   write-in-read   a write at offset 4099 inside a READ-only bracket    (reported: write inside)
 *   loop            writes every byte of 1 MiB outside brackets          (one report, 256 pages)
 *   correct         bracketed accesses through nested brackets, two mappings, partial munmap,
 *                   mprotect, mremap and a mapping made inside an open bracket  (no report)
 *   non-buffer      anonymous memory and a plain memfd touched freely, and a real fault caught
 *                   by the program's own SIGSEGV handler                  (no report)
 *   fork            a WRITE bracket open across fork: the child writes inside it, ends it and
 *                   writes again (reported in the child, which exits 23); the parent's bracket
 *                   is still open                                         (no report in the parent)
 *   crash           a write through a null pointer                       (dies of SIGSEGV)
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <linux/dma-buf.h>
#include <linux/dma-heap.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static int g_failed;

#define EXPECT(cond)                                                   \
  do {                                                                 \
    if (!(cond)) {                                                     \
      fprintf(stderr, "sanitizer_probe:%d: %s failed\n", __LINE__, #cond); \
      g_failed = 1;                                                    \
    }                                                                  \
  } while (0)

static void sync_buf(int fd, uint64_t flags) {
  struct dma_buf_sync s = {.flags = flags};
  EXPECT(ioctl(fd, DMA_BUF_IOCTL_SYNC, &s) == 0);
}

static int alloc_buffer(size_t len) {
  /* $PROBE_HEAP picks another heap (system-uncached: its buffers need no brackets). */
  char path[128];
  const char *name = getenv("PROBE_HEAP");
  snprintf(path, sizeof(path), "/dev/dma_heap/%s", name != NULL ? name : "system");
  int heap = open(path, O_RDWR | O_CLOEXEC);
  if (heap < 0) {
    perror(path);
    exit(1);
  }
  struct dma_heap_allocation_data d = {.len = len, .fd_flags = O_RDWR | O_CLOEXEC};
  if (ioctl(heap, DMA_HEAP_IOCTL_ALLOC, &d) != 0) {
    perror("DMA_HEAP_IOCTL_ALLOC");
    exit(1);
  }
  close(heap);
  EXPECT(ioctl((int)d.fd, DMA_BUF_SET_NAME_B, "probe-frame") == 0);
  struct stat st;
  EXPECT(fstat((int)d.fd, &st) == 0);
  printf("inode %lu\n", (unsigned long)st.st_ino);
  fflush(stdout);
  return (int)d.fd;
}

static uint8_t *map_buffer(int fd, size_t len, int prot) {
  uint8_t *p = mmap(NULL, len, prot, MAP_SHARED, fd, 0);
  if (p == MAP_FAILED) {
    perror("mmap");
    exit(1);
  }
  return p;
}

/* The accesses the reports must point at: not inlined, exported by -rdynamic. */
__attribute__((noinline)) void probe_write(volatile uint8_t *p, size_t offset, uint8_t v) {
  p[offset] = v;
}
__attribute__((noinline)) uint8_t probe_read(volatile uint8_t *p, size_t offset) {
  return p[offset];
}

static void outside_write(void) {
  int fd = alloc_buffer(16384);
  uint8_t *p = map_buffer(fd, 16384, PROT_READ | PROT_WRITE);
  sync_buf(fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_WRITE);
  probe_write(p, 0, 1); /* fine */
  sync_buf(fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_WRITE);
  probe_write(p, 8197, 0x5a); /* the bug */
  probe_write(p, 8198, 0x5b); /* same page, same period: not reported again */
  sync_buf(fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ);
  EXPECT(probe_read(p, 8197) == 0x5a); /* the program went on with the page it needed */
  sync_buf(fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ);
  munmap(p, 16384);
  close(fd);
}

static void outside_read(void) {
  int fd = alloc_buffer(16384);
  uint8_t *p = map_buffer(fd, 16384, PROT_READ | PROT_WRITE);
  EXPECT(probe_read(p, 4096) == 0);
  munmap(p, 16384);
  close(fd);
}

static void write_in_read(void) {
  int fd = alloc_buffer(16384);
  uint8_t *p = map_buffer(fd, 16384, PROT_READ | PROT_WRITE);
  sync_buf(fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ);
  EXPECT(probe_read(p, 4099) == 0); /* fine */
  probe_write(p, 4099, 7);          /* the bug */
  sync_buf(fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ);
  munmap(p, 16384);
  close(fd);
}

static void loop(void) {
  int fd = alloc_buffer(1 << 20);
  uint8_t *p = map_buffer(fd, 1 << 20, PROT_READ | PROT_WRITE);
  for (size_t i = 0; i < 1 << 20; ++i) probe_write(p, i, (uint8_t)i);
  munmap(p, 1 << 20);
  close(fd);
}

static void correct(void) {
  int fd = alloc_buffer(16384);
  uint8_t *a = map_buffer(fd, 16384, PROT_READ | PROT_WRITE);
  uint8_t *b = map_buffer(fd, 16384, PROT_READ);
  /* Nested and overlapping brackets: the buffer stays writable until the last WRITE ends. */
  sync_buf(fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW);
  sync_buf(fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ);
  for (size_t i = 0; i < 16384; i += 512) probe_write(a, i, 0x11);
  sync_buf(fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ);
  probe_write(a, 100, 0x22);
  EXPECT(probe_read(b, 512) == 0x11);
  sync_buf(fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW);
  /* Part of a mapping unmapped: the rest stays tracked with its offset. */
  EXPECT(munmap(a + 4096, 4096) == 0);
  sync_buf(fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ);
  EXPECT(probe_read(a, 8192 + 512) == 0x11 && probe_read(a, 100) == 0x22);
  sync_buf(fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ);
  /* The program's own mprotect is kept: read-only now, writable again later. */
  EXPECT(mprotect(a + 8192, 8192, PROT_READ) == 0);
  sync_buf(fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ);
  EXPECT(probe_read(a, 12288) == 0x11);
  sync_buf(fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ);
  EXPECT(mprotect(a + 8192, 8192, PROT_READ | PROT_WRITE) == 0);
  sync_buf(fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_WRITE);
  probe_write(a, 12288, 0x33);
  sync_buf(fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_WRITE);
  /* A mapping moved by mremap keeps its tracking. */
  uint8_t *moved = mremap(b, 16384, 16384, MREMAP_MAYMOVE);
  EXPECT(moved != MAP_FAILED);
  sync_buf(fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_READ);
  EXPECT(probe_read(moved, 12288) == 0x33);
  sync_buf(fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_READ);
  /* A mapping made while a bracket is open is usable at once. */
  sync_buf(fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW);
  uint8_t *c = map_buffer(fd, 4096, PROT_READ | PROT_WRITE);
  probe_write(c, 1, 0x44);
  sync_buf(fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_RW);
  munmap(c, 4096);
  munmap(moved, 16384);
  munmap(a, 4096);
  munmap(a + 8192, 8192);
  close(fd);
}

static sigjmp_buf g_jump;
static volatile sig_atomic_t g_own_handler_ran;
static void own_handler(int sig) {
  (void)sig;
  g_own_handler_ran = 1;
  siglongjmp(g_jump, 1);
}

static void non_buffer(void) {
  uint8_t *anon = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  EXPECT(anon != MAP_FAILED);
  probe_write(anon, 5000, 9);
  EXPECT(probe_read(anon, 5000) == 9);
  int memfd = memfd_create("not-a-buffer", MFD_CLOEXEC);
  EXPECT(memfd >= 0 && ftruncate(memfd, 8192) == 0);
  uint8_t *shared = map_buffer(memfd, 8192, PROT_READ | PROT_WRITE);
  probe_write(shared, 4096, 3);
  EXPECT(probe_read(shared, 4096) == 3);
  munmap(shared, 8192);
  close(memfd);
  /* The program's own SIGSEGV handler, installed after the sanitizer's, gets real faults. */
  struct sigaction act = {0};
  act.sa_handler = own_handler;
  EXPECT(sigaction(SIGSEGV, &act, NULL) == 0);
  EXPECT(mprotect(anon, 4096, PROT_NONE) == 0);
  if (sigsetjmp(g_jump, 1) == 0) probe_write(anon, 10, 1);
  EXPECT(g_own_handler_ran);
  struct sigaction now;
  EXPECT(sigaction(SIGSEGV, NULL, &now) == 0 && now.sa_handler == own_handler);
  munmap(anon, 8192);
}

static void fork_child(void) {
  int fd = alloc_buffer(16384);
  uint8_t *p = map_buffer(fd, 16384, PROT_READ | PROT_WRITE);
  sync_buf(fd, DMA_BUF_SYNC_START | DMA_BUF_SYNC_WRITE);
  pid_t pid = fork();
  if (pid == 0) {
    probe_write(p, 0, 1); /* inside the inherited bracket */
    sync_buf(fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_WRITE);
    probe_write(p, 4096, 2); /* the child's bug */
    _exit(0);
  }
  int status = 0;
  EXPECT(pid > 0 && waitpid(pid, &status, 0) == pid);
  printf("child exit %d\n", WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
  probe_write(p, 8192, 3); /* the parent's bracket is still open */
  EXPECT(probe_read(p, 4096) == 2);
  sync_buf(fd, DMA_BUF_SYNC_END | DMA_BUF_SYNC_WRITE);
  munmap(p, 16384);
  close(fd);
}

int main(int argc, char **argv) {
  const char *mode = argc > 1 ? argv[1] : "";
  if (strcmp(mode, "outside-write") == 0) {
    outside_write();
  } else if (strcmp(mode, "outside-read") == 0) {
    outside_read();
  } else if (strcmp(mode, "write-in-read") == 0) {
    write_in_read();
  } else if (strcmp(mode, "loop") == 0) {
    loop();
  } else if (strcmp(mode, "correct") == 0) {
    correct();
  } else if (strcmp(mode, "non-buffer") == 0) {
    non_buffer();
  } else if (strcmp(mode, "fork") == 0) {
    fork_child();
  } else if (strcmp(mode, "crash") == 0) {
    probe_write((volatile uint8_t *)16, 0, 1);
  } else {
    fprintf(stderr, "sanitizer_probe: unknown mode \"%s\"\n", mode);
    return 2;
  }
  printf("done\n");
  return g_failed ? 1 : argc > 2 ? atoi(argv[2]) : 0;
}
