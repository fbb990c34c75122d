/* Under the preload shim: threads allocating at once on one heap fd, a forked child using the
 * inherited heap fd while the parent does too (replies must never cross), and an exec'd image
 * that inherits a heap fd and a buffer fd and still gets the dma-buf rules on them.
 * Exit 0 when everything held. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/dma-buf.h>
#include <linux/dma-heap.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static int g_heap;

static int alloc_check(uint64_t len) {
  struct dma_heap_allocation_data d = {.len = len, .fd_flags = O_RDWR | O_CLOEXEC};
  if (ioctl(g_heap, DMA_HEAP_IOCTL_ALLOC, &d) != 0) return -errno;
  struct stat st;
  int ok = fstat((int)d.fd, &st) == 0 && st.st_size == (off_t)len;
  close((int)d.fd);
  return ok ? 0 : -1000;
}

static void *worker(void *arg) {
  long bad = 0;
  for (int i = 0; i < 100; ++i) bad += alloc_check(4096 * (1 + (i + (long)arg) % 4)) != 0;
  return (void *)bad;
}

static int exec_child(int heap, int buf) {
  g_heap = heap;
  if (alloc_check(8192) != 0) return 20;  /* the inherited heap fd still allocates */
  char c;
  if (read(buf, &c, 1) != -1 || errno != EINVAL) return 21;  /* still a dma-buf to the shim */
  struct dma_buf_sync s = {.flags = DMA_BUF_SYNC_START | DMA_BUF_SYNC_RW};
  if (ioctl(buf, DMA_BUF_IOCTL_SYNC, &s) != 0) return 22;
  s.flags = 0x8;
  if (ioctl(buf, DMA_BUF_IOCTL_SYNC, &s) != -1 || errno != EINVAL) return 23;
  return 0;
}

int main(int argc, char **argv) {
  if (argc == 4 && strcmp(argv[1], "exec-child") == 0)
    return exec_child(atoi(argv[2]), atoi(argv[3]));
  g_heap = open("/dev/dma_heap/system", O_RDWR); /* inherited across exec on purpose */
  if (g_heap < 0) return 1;

  pthread_t t[8];
  for (long i = 0; i < 8; ++i) pthread_create(&t[i], NULL, worker, (void *)i);
  long bad = 0;
  for (int i = 0; i < 8; ++i) {
    void *r;
    pthread_join(t[i], &r);
    bad += (long)r;
  }
  printf("threads: %ld failures\n", bad);
  if (bad != 0) return 2;

  pid_t pid = fork();
  if (pid == 0) {
    int fails = 0;
    for (int i = 0; i < 100; ++i) fails += alloc_check(4096 * 3) != 0;
    _exit(fails == 0 ? 0 : 1);
  }
  int fails = 0;
  for (int i = 0; i < 100; ++i) fails += alloc_check(4096 * 5) != 0;
  int status = 0;
  waitpid(pid, &status, 0);
  printf("fork: parent %d failures, child exit %d\n", fails, WEXITSTATUS(status));
  if (fails != 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) return 3;

  struct dma_heap_allocation_data d = {.len = 4096, .fd_flags = O_RDWR}; /* no O_CLOEXEC */
  if (ioctl(g_heap, DMA_HEAP_IOCTL_ALLOC, &d) != 0) return 4;
  char heap_s[16], buf_s[16];
  snprintf(heap_s, sizeof(heap_s), "%d", g_heap);
  snprintf(buf_s, sizeof(buf_s), "%u", d.fd);
  pid = fork();
  if (pid == 0) {
    execl("/proc/self/exe", argv[0], "exec-child", heap_s, buf_s, (char *)NULL);
    _exit(127);
  }
  waitpid(pid, &status, 0);
  printf("exec: child exit %d\n", WEXITSTATUS(status));
  return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 5;
}
