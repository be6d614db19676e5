#pragma once
// Renders a snapshot as Prometheus exposition text with Kepler's metric names and labels
// (docs/compatibility.md §6) plus our self-metrics. Called once per snapshot, never per scrape.

#include <string>
#include <vector>

#include "attribution/snapshot.hpp"
#include "sensors/proc/procfs.hpp"

namespace kepler {

/// Values fixed for the daemon's lifetime.
/// How one zone's energy is obtained (kepler_source_info).
struct zone_source_info {
  std::string source;      ///< the meter: rapl, fake-cpu-meter, ...
  std::string zone;        ///< the zone's label, as in kepler_source_up
  std::string method;      ///< counter, integrated_power or estimate
  std::string model;       ///< estimates: the model's name; else empty
  std::string parameters;  ///< estimates: the model's parameters; else empty
};

struct render_context {
  std::string node_name;
  unsigned metrics_level = 31;  ///< bit set of metrics_level (config.hpp)
  bool legacy_metrics = false;  ///< also Kepler ≤ 0.9's per-zone families
  std::string power_source;     ///< rapl, fake-cpu-meter: the legacy `source` label
  std::string version, revision, branch, arch, compiler;
  std::vector<cpu_info> cpus;
  std::vector<zone_source_info> zone_sources;
  std::string platform_source;      ///< redfish, acpi or empty: where the platform zone's power comes from
  bool platform_workloads = false;  ///< also kepler_{process,container,vm,pod}_platform_*
};

/// The whole /metrics document for one snapshot. `size_hint` (the previous document's size)
/// lets the buffer be allocated once instead of doubling its way up.
std::string render_metrics(const snapshot& snap, const render_context& context, std::size_t size_hint = 0);

}  // namespace kepler
