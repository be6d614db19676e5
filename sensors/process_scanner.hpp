#pragma once
// Scans /proc for every process's CPU time; metadata is read once per process lifetime.

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "sensors/procfs.hpp"
#include "sensors/result.hpp"

namespace kepler {

/// Identity of a process across pid reuse: (pid, start time in ticks since boot).
struct process_key {
  int32_t pid = 0;
  uint64_t start_ticks = 0;
  bool operator==(const process_key&) const = default;
};

struct process_key_hash {
  std::size_t operator()(const process_key& k) const noexcept {
    return std::hash<uint64_t>{}((static_cast<uint64_t>(k.pid) << 40) ^ k.start_ticks);
  }
};

/// Metadata that does not change while a process lives (read once).
struct process_info {
  std::string comm;
  std::string exe;  ///< readlink of /proc/<pid>/exe; empty for kernel threads
};

/// One process's cumulative CPU time at scan time.
struct process_sample {
  process_key key;
  uint64_t cpu_ns = 0;  ///< (utime + stime) converted with USER_HZ
  std::shared_ptr<const process_info> info;
};

/// Result of one scan: node CPU times plus every live process.
struct process_table {
  cpu_times node;
  std::vector<process_sample> processes;
  uint64_t ns_per_tick = 0;  ///< 1e9 / USER_HZ, to turn start ticks into time since boot
  uint64_t uptime_ns = 0;    ///< CLOCK_BOOTTIME when the scan began (same clock as start ticks)
  uint64_t skipped = 0;  ///< processes that could not be read (raced with exit, permissions)
};

/// Reads /proc; keeps a metadata cache keyed by (pid, start time), pruned every scan.
class process_scanner {
 public:
  explicit process_scanner(std::string procfs_root);

  /// Reads <procfs>/stat and every <procfs>/<pid>/stat. Fails only when /proc/stat or the
  /// directory listing cannot be read; per-process failures are counted in `skipped`.
  result<process_table> scan();

  /// Processes whose metadata is cached (those seen by the last scan).
  std::size_t cached_processes() const { return cache_.size(); }

 private:
  /// Cached metadata plus the scan that last saw the process (for pruning).
  struct cache_entry {
    std::shared_ptr<const process_info> info;
    uint64_t seen_in_scan = 0;
  };

  uint64_t ticks_to_ns(uint64_t ticks) const;

  std::string procfs_root_;
  uint64_t ticks_per_second_;  ///< USER_HZ
  uint64_t ns_per_tick_;       ///< 1e9 / USER_HZ when exact, else 0
  uint64_t scan_count_ = 0;
  std::size_t last_process_count_ = 0;
  std::unordered_map<process_key, cache_entry, process_key_hash> cache_;
};

}  // namespace kepler
