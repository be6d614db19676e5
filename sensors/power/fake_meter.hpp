#pragma once
// The fake CPU meter: plausible, time-based watts that follow the node's CPU usage
// (docs/compatibility.md difference #16), for machines without RAPL.

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>

#include "base/result.hpp"
#include "sensors/proc/procfs.hpp"

namespace kepler {

/// Power model of the fake meter, in watts for the `package` zone.
struct fake_meter_model {
  double idle_watts = 10.0;  ///< at 0 % CPU
  double max_watts = 60.0;   ///< at 100 % CPU
};

/// Share of the package power a fake zone reports: package 1, core 0.7, uncore 0.1,
/// dram 0.15, any other name 0.5.
double fake_zone_scale(const std::string& zone_name);

/// One fake zone. Each read integrates power = scale × (idle + (max − idle) × usage) over the
/// time since the previous read, where usage comes from `<procfs>/stat`.
class fake_zone {
 public:
  using clock_fn = std::function<std::chrono::nanoseconds()>;  ///< monotonic time

  fake_zone(std::string name, fake_meter_model model, std::string procfs_root, clock_fn now);

  const std::string& name() const { return name_; }
  /// `/sys/class/powercap/intel-rapl/energy_<name>` as Kepler reports it.
  std::string path() const;
  /// Cumulative microjoules since construction (never wraps in practice).
  result<uint64_t> read_energy_uj();

 private:
  std::string name_;
  fake_meter_model model_;
  std::string procfs_root_;
  clock_fn now_;
  double scale_;
  bool started_ = false;
  std::chrono::nanoseconds last_time_{0};
  cpu_times last_cpu_{};
  double energy_uj_ = 0;
};

}  // namespace kepler
