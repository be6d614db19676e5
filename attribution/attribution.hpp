#pragma once
// The attribution math (docs/compatibility.md §5 with docs/compatibility.md differences #1–#9): energy readings and CPU
// time in, an immutable snapshot out. Pure and CAF-free; the engine actor drives it.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "attribution/process_ledger.hpp"
#include "attribution/process_series_cap.hpp"
#include "attribution/snapshot.hpp"
#include "attribution/terminated_tracker.hpp"
#include "attribution/workload_ledger.hpp"
#include "sensors/power/energy_counter.hpp"
#include "sensors/power/energy_reading.hpp"
#include "sensors/power/physical_zone.hpp"
#include "sensors/proc/process_table.hpp"

namespace kepler {

/// What one interval delivered. A missing reading or table means that source was stale.
struct round_input {
  std::vector<std::optional<energy_reading>> readings;  ///< one per physical zone, same order
  std::shared_ptr<const process_table> cpu;
  int64_t wall_ns = 0;
  int64_t mono_ns = 0;
};

/// Turns readings into node totals and integer-exact per-process shares.
/// Energy a round cannot split yet (CPU stale, empty CPU window) waits for the next one.
class attribution {
 public:
  attribution(std::vector<physical_zone> zones, terminated_policy policy);

  /// Caps the process series at `limit` (exporter.prometheus.maxProcessSeries; 0 = no cap).
  /// Set before the first update: the books of a cap start with it.
  void cap_process_series(std::size_t limit);

  /// Consumes one interval and returns the snapshot describing the state after it.
  std::shared_ptr<snapshot> update(const round_input& input);

  /// Told about every reading whose bridge across a sampler restart it rejected (by zone).
  using rejection_observer = std::function<void(std::size_t zone, reading_verdict verdict)>;
  void observe_rejections(rejection_observer observer) { on_rejected_ = std::move(observer); }

  const std::vector<physical_zone>& physical_zones() const { return physical_; }
  /// Node zones in export order (sockets of one name merged).
  const std::vector<node_zone_stats>& node_zones() const { return nodes_; }
  std::size_t primary_zone() const { return primary_zone_; }

 private:
  struct physical_state {
    std::optional<energy_reading> last;
    std::size_t node = 0;  // index into nodes_
    socket_zone_stats stats;
  };
  struct node_state {
    uint64_t pending_uj = 0;         // measured, not yet split into active and idle
    int64_t window_start_mono = -1;  // start of the pending window
    int64_t window_end_mono = -1;
  };
  struct cpu_window {
    uint64_t busy_ns = 0, total_ns = 0;
  };

  void accept_reading(std::size_t zone, const energy_reading& reading);
  /// Applies a scan unless its window is empty; `applied` tells whether it was, `window`
  /// whether there is a window to split (not on the baseline scan).
  struct cpu_outcome {
    bool applied = false;
    std::optional<cpu_window> window;
  };
  cpu_outcome accept_cpu(const process_table& table, int64_t now_mono_ns);
  void split_zone(std::size_t zone, const cpu_window& window);
  std::shared_ptr<snapshot> make_snapshot(const round_input& input);

  std::vector<physical_zone> physical_;
  std::vector<physical_state> physical_state_;
  std::vector<node_zone_stats> nodes_;
  std::vector<node_state> node_state_;
  std::size_t primary_zone_ = 0;
  process_ledger ledger_;
  terminated_tracker<process_row> terminated_;
  workload_ledger containers_;
  workload_ledger vms_;
  workload_ledger pods_;
  std::optional<process_series_cap> cap_;    // only with maxProcessSeries
  std::optional<cpu_times> last_cpu_times_;  // the CPU baseline: node times at the last scan
  uint64_t last_uptime_ns_ = 0;
  double usage_ratio_ = 0;
  uint64_t sequence_ = 0;
  rejection_observer on_rejected_;
};

/// First present of psys > package > core > dram > uncore, else 0 (docs/compatibility.md §3.2).
std::size_t choose_primary_zone(const std::vector<node_zone_stats>& zones);

}  // namespace kepler
