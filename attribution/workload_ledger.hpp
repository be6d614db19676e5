#pragma once
// Containers and VMs: the exact sums of their processes' energy (docs/compatibility.md difference #9).

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "attribution/process_ledger.hpp"
#include "attribution/snapshot.hpp"
#include "attribution/terminated_tracker.hpp"

namespace kepler {

/// Groups processes by an id taken from their metadata (container id, VM id) and adds up
/// each window's shares, so a workload's energy is exactly the sum of its processes'.
/// A process's workload is looked up by id once; afterwards its slot is remembered in the
/// process ledger, so an interval costs a few additions per process.
class workload_ledger {
 public:
  using id_of = const std::string& (*)(const process_info&);

  /// `level` is this ledger's index among process_ledger::group_levels; `track_outside`
  /// keeps the energy of processes outside every workload (see outside_uj()).
  workload_ledger(id_of id, std::size_t level, std::size_t zone_count, terminated_policy policy,
                  std::size_t primary_zone, bool track_outside);

  /// Adds the last window of `processes` (called once per applied scan). Workloads with no
  /// live process left end at `now_mono_ns` and move to the terminated set.
  void apply(process_ledger& processes, int64_t now_mono_ns);

  /// Drops terminated workloads past their retention window.
  void expire(int64_t now_mono_ns) { terminated_.expire(now_mono_ns); }

  /// Active energy per zone of processes that belong to no workload of this kind (zero
  /// unless tracked).
  const std::vector<uint64_t>& outside_uj() const { return outside_uj_; }

  /// Running and terminated workloads, ready for a snapshot.
  workload_table table() const;

 private:
  /// A workload's bookkeeping; its zone values live in the flat arrays below at
  /// `index × zone_count_`, so the per-process loop touches contiguous memory.
  struct slot {
    bool live = false;
    workload_row row;  ///< its cpu_ns is kept in cpu_ns_ until a table is made
  };

  static constexpr int32_t unresolved = -1;   ///< process_ledger's initial slot
  static constexpr int32_t no_workload = -2;  ///< the process belongs to no workload of this kind

  int32_t resolve(const std::string& id, const process_row& process);
  void end_unseen(int64_t now_mono_ns);

  id_of id_;
  std::size_t level_;
  std::size_t zone_count_;
  bool track_outside_;
  std::vector<slot> slots_;
  std::vector<uint64_t> energy_uj_;      // slots_.size() × zone_count_
  std::vector<double> watts_;            // slots_.size() × zone_count_
  std::vector<uint64_t> cpu_ns_;         // per slot
  std::vector<uint64_t> seen_in_apply_;  // per slot
  std::vector<int32_t> free_slots_;
  std::unordered_map<std::string, int32_t> by_id_;
  terminated_tracker<workload_row> terminated_;
  std::vector<uint64_t> outside_uj_;
  uint64_t apply_count_ = 0;
};

}  // namespace kepler
