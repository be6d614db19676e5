// Classifying a new process: reading its cmdline, cgroup (and environ for containers) and
// deciding container / VM / regular, as the scanner does once per process lifetime.
// Budget (issue #3): ≤ 20 µs per new process. Runs over every process of this machine.

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "sensors/proc/process_classifier.hpp"

using namespace kepler;

int main() {
  int proc_fd = ::open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  std::vector<std::string> pids;
  if (DIR* dir = ::opendir("/proc")) {
    while (const dirent* entry = ::readdir(dir))
      if (entry->d_name[0] >= '1' && entry->d_name[0] <= '9') pids.emplace_back(entry->d_name);
    ::closedir(dir);
  }
  std::vector<double> micros;
  std::size_t containers = 0;
  for (int round = 0; round < 20; ++round) {
    for (const auto& pid : pids) {
      process_info info;
      auto start = std::chrono::steady_clock::now();
      classify_process(process_files(proc_fd, pid.c_str(), pid.size()), info);
      auto end = std::chrono::steady_clock::now();
      micros.push_back(std::chrono::duration<double, std::micro>(end - start).count());
      if (round == 0 && info.type == process_type::container) ++containers;
    }
  }
  std::sort(micros.begin(), micros.end());
  std::printf("classify a new process (%zu processes, %zu in containers): median %.1f us, p90 %.1f us (budget 20 us)\n",
              pids.size(), containers, micros[micros.size() / 2], micros[micros.size() * 9 / 10]);
  ::close(proc_fd);
  return 0;
}
