/* userns_launcher WATCHES PROGRAM [ARG...]: runs PROGRAM as root of a new user namespace in which
 * uid/gid 0 and the tests' unprivileged uid 54321 are themselves, with
 * /proc/sys/user/max_inotify_watches set to WATCHES there. The kernel counts inotify watches per
 * (user namespace, uid), checking each namespace's limit, so a test can run a root daemon whose
 * uids have WATCHES watches each instead of fs.inotify.max_user_watches (~192 k, shared by every
 * root process of the machine) and see whose watches a buffer spends.
 *
 * This process becomes PROGRAM (same pid): a helper forked before the unshare stays in the
 * parent namespace, where it may write the maps. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static int write_file(const char* path, const char* text) {
  int fd = open(path, O_WRONLY | O_CLOEXEC);
  if (fd < 0) return -1;
  ssize_t n = write(fd, text, strlen(text));
  close(fd);
  return n == (ssize_t)strlen(text) ? 0 : -1;
}

int main(int argc, char** argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: userns_launcher WATCHES PROGRAM [ARG...]\n");
    return 2;
  }
  int go[2];
  if (pipe2(go, O_CLOEXEC) != 0) return 1;
  const pid_t self = getpid();
  const pid_t helper = fork();
  if (helper < 0) return 1;
  if (helper == 0) {
    char c, path[64];
    close(go[1]);
    if (read(go[0], &c, 1) != 1) _exit(1);  /* the parent has unshared */
    const char* map = "0 0 1\n54321 54321 1\n";
    snprintf(path, sizeof(path), "/proc/%d/uid_map", (int)self);
    if (write_file(path, map) != 0) _exit(3);
    snprintf(path, sizeof(path), "/proc/%d/gid_map", (int)self);
    if (write_file(path, map) != 0) _exit(4);
    _exit(0);
  }
  close(go[0]);
  if (unshare(CLONE_NEWUSER) != 0) {
    perror("userns_launcher: unshare(CLONE_NEWUSER)");
    return 1;
  }
  if (write(go[1], "x", 1) != 1) return 1;
  int status = 0;
  if (waitpid(helper, &status, 0) != helper || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    fprintf(stderr, "userns_launcher: writing the id maps failed (%d)\n", status);
    return 1;
  }
  /* The capabilities of the new namespace's root were the creator's; the mapped ids make this
   * process root there. */
  if (setresgid(0, 0, 0) != 0 || setresuid(0, 0, 0) != 0) {
    perror("userns_launcher: setresuid");
    return 1;
  }
  char watches[32];
  snprintf(watches, sizeof(watches), "%s\n", argv[1]);
  if (write_file("/proc/sys/user/max_inotify_watches", watches) != 0) {
    perror("userns_launcher: /proc/sys/user/max_inotify_watches");
    return 1;
  }
  execv(argv[2], argv + 2);
  perror("userns_launcher: exec");
  return 127;
}
