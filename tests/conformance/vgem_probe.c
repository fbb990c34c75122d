/*
 * A vgem importer for the lifetime tests (tests/vgem_test.cc), libc and the kernel's UAPI only:
 *   release    three system-heap buffers imported, the card dup'ed and the original closed; says
 *              "imported" and waits for a line on stdin; closes the dup, says "closed" and waits
 *              again; then closes everything and exits 0 iff the process has exactly the fds it
 *              started with. While it waits the test looks at the daemon: the imports must last
 *              as long as the DRM file (any fd of it) and end with it, the buffers living on.
 *   exec       imports a buffer, then execs itself with the card and the buffer inherited:
 *   inherited CARD BUF HANDLE
 *              the inherited fd is the same DRM file: the buffer is the same handle, which
 *              GEM_CLOSE releases.
 *   fork       imports a buffer and forks: the child shares the DRM file (the same handle for
 *              the buffer); after it exits the parent still holds and closes that handle.
 * Exit 0 when every step gave what Linux gives, 1 otherwise (the reason on stdout), 2 for a
 * missing card, heap or buffer, 3 for a usage error.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/dma-heap.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "drm_vgem.h"

static int fail(const char *why, long got) {
  printf("FAIL %s (%ld)\n", why, got);
  return 1;
}

static int count_fds(void) {
  DIR *d = opendir("/proc/self/fd");
  if (d == NULL) return -1;
  int n = 0;
  for (struct dirent *e; (e = readdir(d)) != NULL;) n += e->d_name[0] != '.';
  closedir(d);
  return n - 1; /* the directory's own fd */
}

/* Blocks until the test sends a line; 0 on EOF (the test is gone). */
static int wait_line(void) {
  char c;
  for (;;) {
    ssize_t n = read(0, &c, 1);
    if (n <= 0) return 0;
    if (c == '\n') return 1;
  }
}

/* A buffer of `len` bytes from the system heap, inheritable across exec. */
static int alloc_system(uint64_t len) {
  int heap = open("/dev/dma_heap/system", O_RDWR | O_CLOEXEC);
  if (heap < 0) return -errno;
  struct dma_heap_allocation_data d = {.len = len, .fd = 0, .fd_flags = O_RDWR};
  int rc = ioctl(heap, DMA_HEAP_IOCTL_ALLOC, &d) == 0 ? (int)d.fd : -errno;
  close(heap);
  return rc;
}

static int release(void) {
  const int before = count_fds();
  unsigned card_no;
  int card = open_vgem_card(&card_no);
  if (card < 0) return 2;
  int bufs[3];
  for (int i = 0; i < 3; ++i) {
    bufs[i] = alloc_system(1 << 16);
    if (bufs[i] < 0) return 2;
    __u32 h;
    int rc = vgem_import(card, bufs[i], 0, &h);
    if (rc != 0) return fail("FD_TO_HANDLE", rc);
  }
  int card2 = dup(card);
  close(card);
  printf("imported\n");
  fflush(stdout);
  if (!wait_line()) return 2;
  close(card2);
  printf("closed\n");
  fflush(stdout);
  if (!wait_line()) return 2;
  for (int i = 0; i < 3; ++i) close(bufs[i]);
  const int after = count_fds();
  if (after != before) return fail("fds left after closing everything", after - before);
  printf("fds ok\n");
  return 0;
}

static int exec_self(const char *self) {
  unsigned card_no;
  int card = open_vgem_card(&card_no); /* opened without O_CLOEXEC, as the selftest does */
  int buf = alloc_system(4096);
  if (card < 0 || buf < 0) return 2;
  __u32 h;
  int rc = vgem_import(card, buf, 0, &h);
  if (rc != 0) return fail("FD_TO_HANDLE", rc);
  char card_s[16], buf_s[16], h_s[16];
  snprintf(card_s, sizeof(card_s), "%d", card);
  snprintf(buf_s, sizeof(buf_s), "%d", buf);
  snprintf(h_s, sizeof(h_s), "%u", h);
  execl(self, self, "inherited", card_s, buf_s, h_s, (char *)NULL);
  return fail("exec", -errno);
}

static int inherited(int card, int buf, __u32 want) {
  __u32 h = 0;
  int rc = vgem_import(card, buf, 0, &h);
  if (rc != 0) return fail("FD_TO_HANDLE on the inherited card", rc);
  if (h != want) return fail("the inherited card gave another handle", h);
  rc = vgem_close(card, h, 0);
  if (rc != 0) return fail("GEM_CLOSE on the inherited card", rc);
  printf("inherited ok\n");
  return 0;
}

static int fork_child(void) {
  unsigned card_no;
  int card = open_vgem_card(&card_no);
  int buf = alloc_system(4096);
  if (card < 0 || buf < 0) return 2;
  __u32 h;
  int rc = vgem_import(card, buf, 0, &h);
  if (rc != 0) return fail("FD_TO_HANDLE", rc);
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    __u32 child_h = 0;
    int crc = vgem_import(card, buf, 0, &child_h);
    _exit(crc == 0 && child_h == h ? 0 : 1);
  }
  int status = 0;
  if (pid < 0 || waitpid(pid, &status, 0) != pid) return fail("fork", -errno);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return fail("the child did not get the parent's handle", status);
  }
  rc = vgem_close(card, h, 0);
  if (rc != 0) return fail("GEM_CLOSE after the child", rc);
  printf("fork ok\n");
  return 0;
}

int main(int argc, char **argv) {
  setvbuf(stdout, NULL, _IOLBF, 0);
  if (argc == 2 && strcmp(argv[1], "release") == 0) return release();
  if (argc == 2 && strcmp(argv[1], "exec") == 0) return exec_self(argv[0]);
  if (argc == 5 && strcmp(argv[1], "inherited") == 0) {
    return inherited(atoi(argv[2]), atoi(argv[3]), (__u32)strtoul(argv[4], NULL, 10));
  }
  if (argc == 2 && strcmp(argv[1], "fork") == 0) return fork_child();
  fprintf(stderr, "usage: %s release|exec|fork\n", argv[0]);
  return 3;
}
