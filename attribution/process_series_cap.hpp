#pragma once
// exporter.prometheus.maxProcessSeries (off by default): only the N processes with the most
// energy in an interval get their own kepler_process_* series; the rest of each container's
// processes are summed into one "others" series per container (docs/metrics.md, "Capping
// process series").
//
// Each interval's share of a process (every zone's microjoules and its CPU nanoseconds) goes to
// exactly one exported counter, and no counter ever decreases:
//  - in an interval where the process is among the top N (by energy in the primary zone), to
//    its own counters; otherwise to its container's "others" counters (the container "" for
//    processes outside any container);
//  - a process's own counters hold what it received while among the top N, and resume where
//    they stopped when it comes back; its lifetime total is not exported (the container's is);
//  - so for each container and zone, Σ own counters of its processes + its others counter =
//    the container's energy (kepler_container_cpu_joules_total), to the microjoule, and the
//    increases of all process series add up to the node's attributed energy in any window.

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "attribution/process_ledger.hpp"
#include "attribution/snapshot.hpp"
#include "attribution/terminated_tracker.hpp"

namespace kepler {

class process_series_cap {
 public:
  process_series_cap(std::size_t limit, std::size_t zone_count, std::size_t primary_zone);

  /// Ranks the last window of `processes` and routes each process's share to its own or its
  /// container's others counters (once per applied scan, after the shares are distributed).
  void apply(const process_ledger& processes);

  /// Forgets processes that are neither running nor among `ended` (the terminated processes
  /// still exported), and containers no longer in `containers`.
  void expire(const process_ledger& processes, const std::vector<ended<process_row>>& ended,
              const workload_table& containers);

  /// The series to export for the current state of `processes`, `ended` and `containers`.
  capped_process_series view(const process_ledger& processes, const std::vector<ended<process_row>>& ended,
                             const workload_table& containers) const;

 private:
  struct own_counters {
    std::vector<uint64_t> energy_uj;
    uint64_t cpu_ns = 0;
    uint64_t marked = 0;  ///< the expire() round that last saw it exported
  };
  struct others_counters {
    std::vector<uint64_t> energy_uj;
    std::vector<double> watts;  ///< of the last window
    uint64_t cpu_ns = 0;
    bool in_containers = false;  ///< the expire() scratch flag
  };

  void rank(const process_ledger& processes);
  others_counters& others_of(const std::string& container_id);
  void add_others(const capped_process_series::others_row& row, const others_counters& counters,
                  capped_process_series& out) const;

  std::size_t limit_;
  std::size_t zone_count_;
  std::size_t primary_zone_;
  std::vector<std::size_t> top_;  ///< ledger rows among the top N in the last window, by rank
  std::unordered_map<process_key, own_counters, process_key_hash> own_;
  std::unordered_map<std::string, others_counters> others_;  ///< by container id; "" outside containers
  uint64_t expire_round_ = 0;
};

}  // namespace kepler
