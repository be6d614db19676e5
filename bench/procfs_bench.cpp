// Cost of one procfs scan per process (process_scanner::scan on the real /proc).
// Budget: ≤ 8 µs per process in the steady state (metadata cache warm), so a node with
// 2 000 processes costs ≤ 16 ms of one core per interval. The cold scan (metadata read
// for every process) is reported for information.
//
// The syscall floor (list /proc, then open+read+close every <pid>/stat, nothing else) is
// measured in the same runs, so a loaded or virtualised machine can be told apart from
// overhead in the scanner itself.
//
// Usage: procfs_bench [children=500] [warm_scans=50]

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "sensors/process_scanner.hpp"

namespace {

using clock_type = std::chrono::steady_clock;

/// Idle children that die with the benchmark, even if it is killed.
class idle_children {
 public:
  explicit idle_children(int count) {
    for (int i = 0; i < count; ++i) {
      const pid_t pid = ::fork();
      if (pid == 0) {
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        for (;;) ::pause();
      }
      if (pid < 0) {
        std::perror("fork");
        break;
      }
      pids_.push_back(pid);
    }
  }
  ~idle_children() {
    for (pid_t pid : pids_) ::kill(pid, SIGKILL);
    for (pid_t pid : pids_) ::waitpid(pid, nullptr, 0);
  }
  std::size_t size() const { return pids_.size(); }

 private:
  std::vector<pid_t> pids_;
};

/// One pass of the bare syscalls a scan needs; returns the number of stat files read.
std::size_t syscall_floor_pass() {
  DIR* dir = ::opendir("/proc");
  if (dir == nullptr) return 0;
  std::size_t count = 0;
  char path[300];  // d_name is at most 255 bytes
  char line[2048];
  while (const dirent* entry = ::readdir(dir)) {
    if (entry->d_name[0] < '0' || entry->d_name[0] > '9') continue;
    std::snprintf(path, sizeof path, "%s/stat", entry->d_name);
    const int fd = ::openat(::dirfd(dir), path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;
    if (::read(fd, line, sizeof line) > 0) ++count;
    ::close(fd);
  }
  ::closedir(dir);
  return count;
}

double micros(clock_type::duration d) {
  return std::chrono::duration<double, std::micro>(d).count();
}

}  // namespace

int main(int argc, char** argv) {
  const int children = argc > 1 ? std::atoi(argv[1]) : 500;
  const int warm_scans = argc > 2 ? std::max(1, std::atoi(argv[2])) : 50;
  idle_children spawned(children);

  kepler::process_scanner scanner("/proc");
  const auto cold_start = clock_type::now();
  const auto cold = scanner.scan();
  const auto cold_time = clock_type::now() - cold_start;
  if (!cold) {
    std::fprintf(stderr, "scan failed: %s\n", cold.error_message().c_str());
    return 1;
  }
  const auto processes = cold.value().processes.size();

  std::vector<double> per_process_us, floor_us;
  std::size_t last_count = processes;
  for (int i = 0; i < warm_scans; ++i) {
    const auto floor_start = clock_type::now();
    const auto floor_count = syscall_floor_pass();
    floor_us.push_back(micros(clock_type::now() - floor_start) /
                       static_cast<double>(std::max<std::size_t>(1, floor_count)));

    const auto start = clock_type::now();
    const auto table = scanner.scan();
    const auto elapsed = clock_type::now() - start;
    if (!table) {
      std::fprintf(stderr, "scan failed: %s\n", table.error_message().c_str());
      return 1;
    }
    last_count = table.value().processes.size();
    per_process_us.push_back(micros(elapsed) /
                             static_cast<double>(std::max<std::size_t>(1, last_count)));
  }
  std::sort(per_process_us.begin(), per_process_us.end());
  const double median = per_process_us[per_process_us.size() / 2];
  const double best = per_process_us.front();
  std::sort(floor_us.begin(), floor_us.end());

  std::printf("children spawned:        %zu\n", spawned.size());
  std::printf("processes scanned:       %zu (cold), %zu (last warm), %llu skipped\n", processes,
              last_count, static_cast<unsigned long long>(cold.value().skipped));
  std::printf("cold scan:               %.0f us total, %.2f us/process\n", micros(cold_time),
              micros(cold_time) / static_cast<double>(std::max<std::size_t>(1, processes)));
  std::printf("warm scan (%d runs):     median %.2f us/process, best %.2f us/process\n",
              warm_scans, median, best);
  std::printf("syscall floor:           median %.2f us/process, best %.2f us/process\n",
              floor_us[floor_us.size() / 2], floor_us.front());
  std::printf("budget:                  8.00 us/process -> %s\n", median <= 8.0 ? "OK" : "OVER");
  return median <= 8.0 ? 0 : 2;
}
