#pragma once
// Keeps ended workloads exported with their final totals for a retention window
// (DIFFERENCES #11), bounded by `maxTerminated` and `minTerminatedEnergyThreshold`.

#include <cstdint>
#include <vector>

#include "actors/process_ledger.hpp"

namespace kepler {

struct terminated_policy {
  int64_t max_entries = 500;            ///< < 0 unlimited, 0 disabled, > 0 keep top-N by energy
  uint64_t min_energy_uj = 10'000'000;  ///< in the primary zone; below it an entry is not kept
  int64_t retention_ns = 60'000'000'000;
};

/// Ended processes still exported. Energy that leaves the tracker is added to `retired_uj`
/// so the node's books still balance.
class terminated_tracker {
 public:
  terminated_tracker(terminated_policy policy, std::size_t zone_count, std::size_t primary_zone);

  /// Adds processes that ended at `now_mono_ns`.
  void add(std::vector<ended_process> ended, int64_t now_mono_ns);
  /// Drops entries older than the retention window.
  void expire(int64_t now_mono_ns);

  const std::vector<ended_process>& entries() const { return entries_; }
  /// Energy per zone of entries no longer exported.
  const std::vector<uint64_t>& retired_uj() const { return retired_uj_; }
  uint64_t zone_total_uj(std::size_t zone) const;

 private:
  void retire(const ended_process& entry);
  void evict_lowest();

  terminated_policy policy_;
  std::size_t primary_zone_;
  std::vector<ended_process> entries_;
  std::vector<uint64_t> retired_uj_;
};

}  // namespace kepler
