#pragma once
// The estimate meter's models (docs/estimate.md): node watts as a function of CPU usage, chosen
// at start from the configuration's overrides, the node's DMI and /proc/cpuinfo and the tables.

#include <string>
#include <string_view>
#include <vector>

#include "base/result.hpp"
#include "config/config.hpp"
#include "sensors/power/estimate_tables.hpp"
#include "sensors/power/node_facts.hpp"

namespace kepler {

/// Node watts as a piecewise-linear function of CPU load, through points from 0 % to 100 %.
class power_curve {
 public:
  power_curve() = default;
  /// At least two points, loads rising from exactly 0 to exactly 100, watts finite and ≥ 0;
  /// otherwise an error naming the problem.
  static result<power_curve> make(std::vector<load_watts> points);
  /// A straight line from `idle` watts at 0 % to `max` watts at 100 %.
  static power_curve linear(double idle, double max);

  /// Watts at a usage ratio (0 = idle, 1 = every CPU busy), clamped to [0, 1]; 0 when empty.
  double watts_at(double usage) const;
  const std::vector<load_watts>& points() const { return points_; }

 private:
  std::vector<load_watts> points_;
};

/// A chosen model: what it says and how to look it up.
struct estimate_model {
  std::string name;        ///< e.g. ccf-aws-skylake, specpower-xeon-platinum-8176, teads-tdp, user-curve
  std::string parameters;  ///< the numbers behind it, for the log and kepler_source_info
  std::string basis;       ///< why this model: what the node said and what matched
  power_curve curve;
  bool fallback = false;  ///< the CPU or instance is in no table: the log warns
};

/// Points of the Teads curve (CPU package power as a share of TDP at 0, 10, 50 and 100 % load).
inline constexpr load_watts teads_points[] = {{0, 0.12}, {10, 0.32}, {50, 0.75}, {100, 1.02}};

/// The Teads curve for `packages` CPUs of `tdp_watts` each.
power_curve teads_curve(double tdp_watts, int packages);

/// CCF's per-vCPU watts for a set of microarchitectures, with CCF's rules.
struct ccf_watts {
  double min_watts = 0, max_watts = 0;  ///< per vCPU
  std::string rule;                     ///< single, mean, median, or provider fallback
  std::string missing;                  ///< for a fallback: the processors without a coefficient
};

/// The mean of the processors' min and max (the median where the set holds Sandy Bridge or Ivy
/// Bridge); the provider's fallback row when the set is empty or any member has no coefficient.
ccf_watts ccf_coefficients(const estimate_tables& tables, std::string_view provider,
                           const std::vector<std::string>& processors);

/// CCF's processors of an instance type: exact (`m5.large`, `D4s v5`, GCP's `e2-micro`), then
/// Azure's API form (`Standard_D4s_v5`), then GCP's family (`n1` of `n1-standard-4`). Empty
/// when not listed.
std::vector<std::string> ccf_instance_processors(const estimate_tables& tables, std::string_view provider,
                                                 std::string_view instance_type);

/// CCF's model for `vcpus` vCPUs on `processors` at `provider`: linear per vCPU.
estimate_model ccf_model(const estimate_tables& tables, std::string_view provider,
                         const std::vector<std::string>& processors, int vcpus);

/// The SPECpower servers built on the processor of `key` (cpu_model_key), or of `architecture`.
std::vector<const specpower_server*> servers_with_cpu(const estimate_tables& tables, std::string_view key);
std::vector<const specpower_server*> servers_of_architecture(const estimate_tables& tables,
                                                             std::string_view architecture);

/// The median over `servers` of watts per hardware thread at each load step, times `threads`.
power_curve per_thread_curve(const std::vector<const specpower_server*>& servers, int threads);
/// The median over `servers` of watts per CPU package at each load step, times `packages`.
power_curve per_chip_curve(const std::vector<const specpower_server*>& servers, int packages);

/// The model for this node: the configuration's override (estimate.curve, estimate.maxWatts,
/// estimate.tdpWatts) if any; else CCF for a cloud VM; else the SPECpower servers with its CPU,
/// else with its microarchitecture; else the documented fallback (CCF's average per vCPU).
estimate_model choose_estimate_model(const kepler_config& config, const node_facts& facts,
                                     const estimate_tables& tables);

}  // namespace kepler
