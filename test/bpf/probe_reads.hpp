#pragma once
// What the probe's reads say about one process or cgroup, for the eBPF tests.

#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string_view>

#include "bpf/cpu_time_reader.hpp"
#include "sensors/proc/procfs.hpp"
#include "test/support/child_process.hpp"

namespace kepler::testing {

/// schedstat is the main thread's; the probe counts the whole process. Under ThreadSanitizer a
/// forked child also runs TSan's background thread, so there the checks of over-counting are
/// left to the other builds and only losses are checked. (ASan adds no thread to a child that
/// leaves with _exit: its checks stay exact.)
inline uint64_t other_threads_allowance_ns() {
  const char* sanitizer = std::getenv("KEPLER_SANITIZER");
  return sanitizer && std::string_view(sanitizer) == "tsan" ? 50'000'000 : 0;
}

/// The process entry of `pid` started at `start_ticks`, if the snapshot has it.
inline std::optional<process_cpu_time> find_process(const cpu_time_snapshot& snapshot, pid_t pid,
                                                    uint64_t start_ticks) {
  for (const auto& process : snapshot.processes)
    if (process.tgid == uint32_t(pid) && start_time_matches(process.start_ns, start_ticks, sysconf(_SC_CLK_TCK)))
      return process;
  return std::nullopt;
}

/// Whether the snapshot reports the exit of `pid` started at `start_ticks`; how many times.
inline int count_exits(const cpu_time_snapshot& snapshot, pid_t pid, uint64_t start_ticks) {
  int count = 0;
  for (const auto& exit : snapshot.exits)
    if (exit.tgid == uint32_t(pid) && start_time_matches(exit.start_ns, start_ticks, sysconf(_SC_CLK_TCK))) ++count;
  return count;
}

inline uint64_t cgroup_cpu_ns(const cpu_time_snapshot& snapshot, uint64_t cgroup_id) {
  for (const auto& cgroup : snapshot.cgroups)
    if (cgroup.cgroup_id == cgroup_id) return cgroup.cpu_ns;
  return 0;
}

}  // namespace kepler::testing
