#pragma once
// The procfs CPU-time source: scans /proc when asked. Runs detached (blocking reads).

#include <memory>
#include <string>

#include "actors/messages.hpp"
#include "attribution/actor_stats.hpp"
#include "sensors/proc/process_scanner.hpp"

namespace kepler {

struct cpu_time_state {
  static inline const char* name = "procfs_cpu_time";
  std::unique_ptr<process_scanner> scanner;
  std::shared_ptr<actor_stats> stats;
};

cpu_source_actor::behavior_type procfs_cpu_time(cpu_source_actor::stateful_pointer<cpu_time_state> self,
                                                std::string procfs_root, std::shared_ptr<actor_stats> stats);

}  // namespace kepler
