#pragma once
// The estimate meter (docs/estimate.md): one `package` zone whose energy integrates the chosen
// model's watts at the node's measured CPU usage, over the meter's own monotonic clock.

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include "base/result.hpp"
#include "config/config.hpp"
#include "sensors/power/estimate_model.hpp"
#include "sensors/power/power_meter.hpp"
#include "sensors/proc/procfs.hpp"

namespace kepler {

/// The zone the estimate reports. One zone, named like RAPL's main zone so that dashboards and
/// queries written for `zone="package"` work on every node; what it covers depends on the model
/// (docs/estimate.md, "What the zone covers").
inline constexpr const char* estimate_zone_name = "package";

/// Integrates `curve` at the usage of each window between reads of `<procfs>/stat`.
class estimate_zone {
 public:
  using clock_fn = std::function<std::chrono::nanoseconds()>;  ///< monotonic time

  /// `now` null: the steady clock.
  estimate_zone(power_curve curve, std::string procfs_root, clock_fn now);

  /// Cumulative microjoules since the first read (which is the baseline and reads 0).
  result<uint64_t> read_energy_uj();
  /// The same from a cpu sample taken at `now` (what read_energy_uj does after reading).
  uint64_t add_sample(const cpu_times& cpu, std::chrono::nanoseconds now);

 private:
  result<cpu_times> read_cpu();

  power_curve curve_;
  std::string stat_path_;
  clock_fn now_;
  bool started_ = false;
  std::chrono::nanoseconds last_time_{0};
  cpu_times last_cpu_{};
  double energy_uj_ = 0;
};

/// The estimate meter on this node: the model choose_estimate_model picks from the config, the
/// node's facts under host.sysfs and host.procfs, and the built-in tables; notes that say
/// "estimated, not measured" with the model and its parameters (a warning for a fallback).
power_meter discover_estimate_meter(const kepler_config& config);

/// The same with the facts and tables given (tests, and the ladder's own call above).
power_meter estimate_meter_for(const kepler_config& config, const node_facts& facts, const estimate_tables& tables);

}  // namespace kepler
