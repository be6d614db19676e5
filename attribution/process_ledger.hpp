#pragma once
// Running processes and their energy per zone, in flat arrays that copy cheaply into snapshots.

#include <array>
#include <cstdint>
#include <unordered_map>
#include <vector>

#include "attribution/snapshot.hpp"
#include "attribution/terminated_tracker.hpp"
#include "sensors/proc/process_table.hpp"

namespace kepler {

/// A process that left the table, with its final per-zone energy.
using ended_process = ended<process_row>;

/// Tracks every live process keyed by (pid, start time) and shares active energy among them.
class process_ledger {
 public:
  explicit process_ledger(std::size_t zone_count) : zone_count_(zone_count) {}

  /// Applies a new scan: CPU deltas for known processes, new rows for new ones, and returns
  /// the processes that disappeared. A process first seen after the baseline gets its whole
  /// CPU time as its delta if it started after `previous_uptime_ns` or the table's counters
  /// start at zero (it could not have been counted before); otherwise it starts from a baseline.
  std::vector<ended_process> apply_scan(const process_table& table, bool has_baseline, uint64_t previous_uptime_ns);

  /// Σ CPU deltas of the last scan.
  uint64_t window_cpu_ns() const { return window_cpu_ns_; }

  /// Shares `active_uj` of zone `zone` in proportion to each process's CPU delta over
  /// `pool_ns` (≥ Σ deltas); returns the microjoules handed out (≤ active_uj).
  uint64_t distribute(std::size_t zone, uint64_t active_uj, uint64_t pool_ns, double seconds);

  std::size_t size() const { return rows_.size(); }
  bool contains(const process_key& key) const { return index_.contains(key); }
  const std::vector<process_row>& rows() const { return rows_; }
  const std::vector<uint64_t>& energy_uj() const { return energy_uj_; }
  const std::vector<double>& watts() const { return watts_; }
  /// Energy each process received in the last window, per zone (same layout).
  const std::vector<uint64_t>& window_uj() const { return window_uj_; }

  /// How many grouping levels (containers, VMs, pods) may remember a slot per process.
  static constexpr std::size_t group_levels = 3;
  /// The slot a grouping level resolved for a process row (-1 until it does): saves looking
  /// up the workload id every interval. It moves with its row.
  int32_t& group_slot(std::size_t row, std::size_t level) { return group_slots_[row][level]; }
  /// Σ energy of running processes in one zone.
  uint64_t zone_total_uj(std::size_t zone) const;

 private:
  void append(const process_sample& sample, uint64_t delta_ns);
  ended_process remove(std::size_t row);

  std::size_t zone_count_;
  std::vector<process_row> rows_;
  std::vector<uint64_t> energy_uj_;  // rows_.size() × zone_count_
  std::vector<double> watts_;        // rows_.size() × zone_count_
  std::vector<uint64_t> window_uj_;  // rows_.size() × zone_count_, reset every scan
  std::vector<std::array<int32_t, group_levels>> group_slots_;
  std::vector<uint64_t> seen_in_scan_;
  std::unordered_map<process_key, std::size_t, process_key_hash> index_;
  uint64_t scan_number_ = 0;
  uint64_t window_cpu_ns_ = 0;
};

}  // namespace kepler
