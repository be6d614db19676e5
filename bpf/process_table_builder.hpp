#pragma once
// Turns a read of the eBPF CPU-time maps into the process table the attribution engine
// consumes, with each process's metadata read and classified once per lifetime.

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "bpf/cgroup_paths.hpp"
#include "bpf/cpu_time_reader.hpp"
#include "sensors/proc/process_table.hpp"

namespace kepler {

/// Builds process tables from eBPF reads. CPU time is in nanoseconds (`ns_per_tick` = 1) and
/// counts from the probe's attach, so every process's counter starts at zero.
class ebpf_table_builder {
 public:
  /// `cgroups` may be null (no cgroup v2): processes gone before they were seen are then
  /// classified regular.
  ebpf_table_builder(std::string procfs_root, std::unique_ptr<cgroup_paths> cgroups, unsigned online_cpus,
                     uint64_t cgroup_sweep_every = 12);
  ~ebpf_table_builder();
  ebpf_table_builder(const ebpf_table_builder&) = delete;
  ebpf_table_builder& operator=(const ebpf_table_builder&) = delete;

  /// The table for one read; `uptime_ns` is CLOCK_BOOTTIME at the read.
  process_table build(const cpu_time_snapshot& read, uint64_t uptime_ns);

  /// Cgroups of `read` that no longer exist, checked every `cgroup_sweep_every` builds (a
  /// stat per cgroup): missing in this sweep and the one before, so a cgroup made during a
  /// read is not mistaken for a removed one. Their counters can be dropped from the probe's
  /// map, which they would otherwise fill.
  std::vector<uint64_t> vanished_cgroups(const cpu_time_snapshot& read);

  /// Processes whose metadata is cached.
  std::size_t cached_processes() const { return cache_.size(); }

 private:
  std::shared_ptr<const process_info> metadata(const process_cpu_time& process);

  struct cached {
    std::shared_ptr<const process_info> info;
    uint64_t seen_in_build = 0;
  };
  std::string procfs_root_;
  int procfs_fd_ = -1;
  std::unique_ptr<cgroup_paths> cgroups_;
  unsigned online_cpus_;
  std::unordered_map<process_key, cached, process_key_hash> cache_;
  uint64_t cgroup_sweep_every_;
  std::unordered_set<uint64_t> missing_cgroups_;  ///< not found by the previous sweep
  uint64_t builds_ = 0;
};

}  // namespace kepler
