#pragma once
// Keeps ended workloads exported with their final totals for a retention window
// (docs/compatibility.md difference #11), bounded by `maxTerminated` and `minTerminatedEnergyThreshold`.

#include <algorithm>
#include <cstdint>
#include <vector>

namespace kepler {

struct terminated_policy {
  int64_t max_entries = 500;            ///< < 0 unlimited, 0 disabled, > 0 keep top-N by energy
  uint64_t min_energy_uj = 10'000'000;  ///< in the primary zone; below it an entry is not kept
  int64_t retention_ns = 60'000'000'000;
};

/// A workload that ended, with its final per-zone energy. `Row` has `terminated_at_mono_ns`.
template <class Row>
struct ended {
  Row row;
  std::vector<uint64_t> energy_uj;
};

/// Ended workloads still exported. Energy that leaves the set is added to `retired_uj`, so
/// the books still balance.
template <class Row>
class terminated_tracker {
 public:
  terminated_tracker(terminated_policy policy, std::size_t zone_count, std::size_t primary_zone)
      : policy_(policy), primary_zone_(primary_zone), retired_uj_(zone_count, 0) {}

  /// Adds workloads that ended at `now_mono_ns`.
  void add(std::vector<ended<Row>> ended_now, int64_t now_mono_ns) {
    for (auto& entry : ended_now) {
      entry.row.terminated_at_mono_ns = now_mono_ns;
      bool below_threshold = entry.energy_uj[primary_zone_] < policy_.min_energy_uj;
      if (policy_.max_entries == 0 || below_threshold) {
        retire(entry);
        continue;
      }
      entries_.push_back(std::move(entry));
      if (policy_.max_entries > 0 && entries_.size() > static_cast<std::size_t>(policy_.max_entries)) evict_lowest();
    }
  }

  /// Drops entries older than the retention window.
  void expire(int64_t now_mono_ns) {
    auto expired = [&](const ended<Row>& e) {
      return now_mono_ns - e.row.terminated_at_mono_ns >= policy_.retention_ns;
    };
    for (const auto& entry : entries_)
      if (expired(entry)) retire(entry);
    std::erase_if(entries_, expired);
  }

  const std::vector<ended<Row>>& entries() const { return entries_; }
  /// Energy per zone of entries no longer exported.
  const std::vector<uint64_t>& retired_uj() const { return retired_uj_; }

  uint64_t zone_total_uj(std::size_t zone) const {
    uint64_t total = 0;
    for (const auto& entry : entries_) total += entry.energy_uj[zone];
    return total;
  }

 private:
  void retire(const ended<Row>& entry) {
    for (std::size_t z = 0; z < retired_uj_.size(); ++z) retired_uj_[z] += entry.energy_uj[z];
  }

  void evict_lowest() {
    auto lowest = std::min_element(entries_.begin(), entries_.end(), [this](auto& a, auto& b) {
      return a.energy_uj[primary_zone_] < b.energy_uj[primary_zone_];
    });
    retire(*lowest);
    entries_.erase(lowest);
  }

  terminated_policy policy_;
  std::size_t primary_zone_;
  std::vector<ended<Row>> entries_;
  std::vector<uint64_t> retired_uj_;
};

}  // namespace kepler
