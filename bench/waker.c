/* waker: the processes of the scale and soak benchmarks (bench/scale_bench.py,
 * bench/churn_soak.py). A few KiB each, where a Python process would take megabytes.
 *
 *   waker spawn       reads lines "<count> <lifetime_s> <burn_us> <cgroup.procs path or ->"
 *                     from stdin and forks <count> wakers for each; reaps them as they exit;
 *                     exits (leaving its wakers running) at end of input.
 *
 * Each waker first moves itself into the cgroup (if one is named), then sleeps 1 s, burns
 * about <burn_us> µs of CPU, and again, until <lifetime_s> seconds have passed (0: forever).
 * The CPU time a waker uses before it has moved (the end of fork, the cgroup write: some tens
 * of µs) is its own, but not its cgroup's: a kernel's cgroup counts less than the process's own
 * counters by that much. (Moving the spawner instead would charge the cgroup for its forks.)
 * The spawner forks instead of the harness, so that starting 50 processes a second or 20,000
 * at once costs a fork each, not an interpreter's spawn.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now_s(clockid_t clock) {
  struct timespec t;
  clock_gettime(clock, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Writing "0" to cgroup.procs moves the writer itself (v1 and v2). */
static void join_cgroup(const char* procs_path) {
  if (strcmp(procs_path, "-") == 0) return;
  int fd = open(procs_path, O_WRONLY);
  if (fd < 0 || write(fd, "0", 1) != 1) {
    perror(procs_path);
    _exit(2);
  }
  close(fd);
}

/* Busy for `burn_us` µs of this thread's CPU time. */
static void burn(double burn_us) {
  double until = now_s(CLOCK_THREAD_CPUTIME_ID) + burn_us / 1e6;
  while (now_s(CLOCK_THREAD_CPUTIME_ID) < until) {
  }
}

static void wake_every_second(double lifetime_s, double burn_us) {
  double start = now_s(CLOCK_MONOTONIC);
  struct timespec second = {1, 0};
  while (lifetime_s <= 0 || now_s(CLOCK_MONOTONIC) - start < lifetime_s) {
    nanosleep(&second, NULL);
    burn(burn_us);
  }
  _exit(0);
}

static void reap(void) {
  while (waitpid(-1, NULL, WNOHANG) > 0) {
  }
}

static int spawn_from_stdin(void) {
  char line[4096];
  setvbuf(stdin, NULL, _IONBF, 0); /* poll() must see every line not yet read */
  for (;;) {
    struct pollfd input = {0, POLLIN, 0};
    if (poll(&input, 1, 200) < 0 && errno != EINTR) return 1;
    reap();
    if (!(input.revents & (POLLIN | POLLHUP))) continue;
    if (!fgets(line, sizeof line, stdin)) return 0;
    int count = 0;
    double lifetime_s = 0, burn_us = 0;
    char path[4000];
    if (sscanf(line, "%d %lf %lf %3999s", &count, &lifetime_s, &burn_us, path) != 4) {
      fprintf(stderr, "waker: bad line: %s", line);
      continue;
    }
    for (int i = 0; i < count; ++i) {
      pid_t pid = fork();
      if (pid < 0) {
        perror("fork");
        break;
      }
      if (pid == 0) {
        join_cgroup(path);
        wake_every_second(lifetime_s, burn_us);
      }
    }
  }
}

int main(int argc, char** argv) {
  if (argc == 2 && strcmp(argv[1], "spawn") == 0) return spawn_from_stdin();
  fprintf(stderr, "usage: waker spawn < commands\n");
  return 2;
}
