#pragma once
// Helper processes for tests that observe real processes: a child that waits for a go signal,
// then runs a body; and what /proc says about a process.

#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <functional>
#include <sstream>
#include <string>

#include "sensors/proc/procfs.hpp"
#include "test/support/temp_dir.hpp"

namespace kepler::testing {

/// Burns `ns` of this thread's CPU time.
inline void spin_cpu(uint64_t ns) {
  auto cpu_now = [] {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return uint64_t(ts.tv_sec) * 1'000'000'000u + uint64_t(ts.tv_nsec);
  };
  for (uint64_t start = cpu_now(); cpu_now() - start < ns;) {
  }
}

/// A forked child blocked until go(); then it runs `body` and exits 0. Killed if still alive
/// when destroyed.
class child_process {
 public:
  explicit child_process(std::function<void()> body) {
    int fds[2];
    if (pipe(fds) != 0) return;
    // Unwritten output would be written twice: TSan's _exit flushes the child's copy of it.
    std::fflush(nullptr);
    pid_ = fork();
    if (pid_ == 0) {
      close(fds[1]);
      char byte;
      if (::read(fds[0], &byte, 1) == 1) body();
      _exit(0);
    }
    close(fds[0]);
    go_fd_ = fds[1];
  }
  ~child_process() {
    if (go_fd_ >= 0) close(go_fd_);
    if (pid_ > 0 && !reaped_) {
      kill(pid_, SIGKILL);
      wait();
    }
  }
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  pid_t pid() const { return pid_; }
  void go() {
    char byte = 'g';
    (void)!::write(go_fd_, &byte, 1);
  }
  /// Reaps the child; returns its wait status.
  int wait() {
    int status = 0;
    waitpid(pid_, &status, 0);
    reaped_ = true;
    return status;
  }

 private:
  pid_t pid_ = -1;
  int go_fd_ = -1;
  bool reaped_ = false;
};

/// utime + stime of /proc/<pid>/stat (fields 14 and 15), in clock ticks.
inline uint64_t proc_cpu_ticks(pid_t pid) {
  std::string line = test::whole_file("/proc/" + std::to_string(pid) + "/stat");
  std::istringstream fields(line.substr(line.rfind(')') + 2));
  std::string field;
  uint64_t ticks = 0;
  for (int index = 3; index <= 15 && fields >> field; ++index)
    if (index >= 14) ticks += std::stoull(field);
  return ticks;
}

/// The scheduler's sum_exec_runtime of a single-threaded process, ns (/proc/<pid>/schedstat).
inline uint64_t proc_exec_ns(pid_t pid) {
  return std::stoull(test::whole_file("/proc/" + std::to_string(pid) + "/schedstat"));
}

/// starttime of /proc/<pid>/stat, in clock ticks since boot.
inline uint64_t proc_start_ticks(pid_t pid) {
  return pid_stat_starttime(test::whole_file("/proc/" + std::to_string(pid) + "/stat")).value_or(0);
}

}  // namespace kepler::testing
