#pragma once
// The process table: every process's CPU time at one reading, with metadata read once per
// process lifetime. Produced by the CPU-time sources (the /proc scanner here, the eBPF reader
// in bpf/), consumed by the attribution engine.

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/named_enum.hpp"
#include "sensors/proc/procfs.hpp"

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

/// What a process is; the text is Kepler's `type` label.
#define KEPLER_PROCESS_TYPES(X) X(regular, "regular") X(container, "container") X(vm, "vm")
KEPLER_NAMED_ENUM(process_type, KEPLER_PROCESS_TYPES)

/// Metadata that does not change while a process lives (read once).
struct process_info {
  std::string comm;
  std::string exe;  ///< readlink of /proc/<pid>/exe; empty for kernel threads
  process_type type = process_type::regular;
  // Set by the classifier for container processes (docs/compatibility.md §4.4).
  std::string container_id, container_name, runtime, pod_id;
  // Set by the classifier for hypervisor processes (docs/compatibility.md §4.5).
  std::string vm_id, vm_name, hypervisor;
};

/// One process's cumulative CPU time at scan time.
struct process_sample {
  process_key key;
  uint64_t cpu_ns = 0;  ///< /proc: utime + stime in ns, or schedstat's ns when ahead (process_scanner); eBPF: ns
  std::shared_ptr<const process_info> info;
};

/// Result of one scan: node CPU times plus every live process.
struct process_table {
  cpu_times node;
  std::vector<process_sample> processes;
  uint64_t ns_per_tick = 0;  ///< 1e9 / USER_HZ, to turn start ticks into time since boot
  uint64_t uptime_ns = 0;    ///< CLOCK_BOOTTIME when the scan began (same clock as start ticks)
  /// True when each process's counter starts at zero when it is first tracked (eBPF), so a
  /// process first seen now used exactly its counter since the previous table.
  bool counters_from_zero = false;
  uint64_t skipped = 0;  ///< processes that could not be read (raced with exit, permissions)
  /// Processes read with open/read/close because the budget of kept files was full (or
  /// the process ran out of descriptors): slower, not an error.
  uint64_t fallback_reads = 0;
};

}  // namespace kepler
