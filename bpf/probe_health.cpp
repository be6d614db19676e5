#include "bpf/probe_health.hpp"

namespace kepler {

bpf_probe_health probe_health(const cpu_time_probe& probe, const cpu_time_snapshot& read) {
  bpf_probe_health health;
  health.attach_mode = std::string(to_string(probe.mode()));
  health.run_stats = probe.stats_enabled();
  auto stats = probe.program_stats();
  health.program_runs = stats.run_count;
  health.program_run_ns = stats.run_time_ns;
  health.maps = {{"processes", read.process_fill.entries, read.process_fill.max_entries},
                 {"cpu_ns_by_cgroup", read.cgroup_fill.entries, read.cgroup_fill.max_entries}};
  health.drops = {{"process", read.drops[CPU_TIME_DROP_PROCESS]},
                  {"cgroup", read.drops[CPU_TIME_DROP_CGROUP]},
                  {"exit_event", read.drops[CPU_TIME_DROP_EXIT]},
                  {"meta_change", read.drops[CPU_TIME_DROP_META_CHANGE]},
                  {"after_exit", read.charged_after_exit},
                  {"missed_run", stats.recursion_misses}};
  return health;
}

}  // namespace kepler
