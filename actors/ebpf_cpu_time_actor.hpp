#pragma once
// The eBPF CPU-time source: reads the probe's maps when asked (docs/compatibility.md difference #10). Runs
// detached, like every source that makes system calls on request.

#include <memory>
#include <string>

#include "actors/messages.hpp"
#include "attribution/actor_stats.hpp"
#include "bpf/cpu_time_loader.hpp"
#include "bpf/cpu_time_reader.hpp"
#include "bpf/process_table_builder.hpp"

namespace kepler {

struct ebpf_cpu_time_state {
  static inline const char* name = "ebpf_cpu_time";
  std::shared_ptr<cpu_time_probe> probe;  ///< loaded at start-up, shared across restarts
  std::unique_ptr<cpu_time_reader> reader;
  std::unique_ptr<ebpf_table_builder> builder;
  cpu_time_snapshot read;  ///< reused between reads
  std::shared_ptr<actor_stats> stats;
};

/// Answers `get` with every process's CPU time since the probe was attached. A failed read
/// ends the actor so that its supervisor restarts it and, if it keeps failing, falls back
/// to procfs.
cpu_source_actor::behavior_type ebpf_cpu_time(cpu_source_actor::stateful_pointer<ebpf_cpu_time_state> self,
                                              std::shared_ptr<cpu_time_probe> probe, std::string procfs_root,
                                              std::string sysfs_root, std::shared_ptr<actor_stats> stats);

}  // namespace kepler
