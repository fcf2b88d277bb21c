/* Peak RSS of a command, for the benchmarks: forks (from this small process, so the child's
 * memory before exec is ours, not the caller's), execs CMD with its output discarded, and prints
 * the child's ru_maxrss in KiB from wait4. A Bun parent cannot ask for this itself: its children
 * start as copies of (or share) its own, larger, memory, which ru_maxrss remembers across exec.
 * Usage: peak-rss CMD [ARGS...] */
#include <fcntl.h>
#include <stdio.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc < 2) { fprintf(stderr, "usage: peak-rss CMD [ARGS...]\n"); return 2; }
  pid_t pid = fork();
  if (pid < 0) { perror("fork"); return 1; }
  if (pid == 0) {
    int null = open("/dev/null", O_WRONLY);
    if (null >= 0) { dup2(null, 1); dup2(null, 2); }
    execvp(argv[1], argv + 1);
    _exit(127);
  }
  int status;
  struct rusage ru;
  if (wait4(pid, &status, 0, &ru) < 0) { perror("wait4"); return 1; }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) { fprintf(stderr, "peak-rss: %s failed\n", argv[1]); return 1; }
  printf("%ld\n", ru.ru_maxrss);
  return 0;
}
