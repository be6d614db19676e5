#pragma once
// Chooses the power source along the ladder of cpu.preferredMeters (RAPL, the estimate, the
// fake meter) and describes each zone with a way to read it.

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "base/log_note.hpp"
#include "base/named_enum.hpp"
#include "base/result.hpp"
#include "config/config.hpp"
#include "sensors/power/physical_zone.hpp"

namespace kepler {

using energy_read_fn = std::function<result<uint64_t>()>;

/// How a zone's energy is obtained: a measured energy counter, measured power integrated over
/// time, or an estimate from a model.
#define KEPLER_METER_METHODS(X) X(counter, "counter") X(integrated_power, "integrated_power") X(estimate, "estimate")
KEPLER_NAMED_ENUM(meter_method, KEPLER_METER_METHODS)

/// How a zone's energy is obtained, as the start-up log, kepler_source_info and the page say.
struct zone_provenance {
  meter_method method = meter_method::counter;
  std::string model;       ///< for an estimate: the model's name, to look it up in the docs; else empty
  std::string parameters;  ///< for an estimate: its parameters, e.g. "idle 10 W, max 60 W"; else empty
};

/// One zone of the chosen meter. `make_reader` builds a fresh reader for each sampler
/// incarnation, so a restarted sampler never inherits broken state.
struct zone_source {
  physical_zone zone;
  std::string label;  ///< zone label in self-metrics, e.g. package-0
  std::function<energy_read_fn()> make_reader;
  zone_provenance provenance;
};

struct power_meter {
  std::string source;  ///< rapl, msr, hwmon, estimate, fake-cpu-meter, or empty when no meter works
  std::vector<zone_source> zones;
  std::vector<log_note> notes;  ///< what selection found or decided, for the start-up log
};

/// Walks `ladder` in order, discovering each meter only when the ones before it had no usable
/// zone, and returns the first with one; its notes are every note met on the way. None usable:
/// a meter without source or zones, whose notes end with a warning that says so.
power_meter choose_power_meter(const std::vector<meter_kind>& ladder,
                               const std::function<power_meter(meter_kind)>& discover);

/// The meter cpu.preferredMeters chooses on this machine (RAPL, MSR, hwmon, the estimate,
/// the fake meter).
power_meter select_power_meter(const kepler_config& config);

/// The most a whole node can plausibly draw (a rack server with accelerators stays far below).
inline constexpr double platform_max_plausible_watts = 100'000.0;

/// The ACPI power meter's `power1_average` as the platform zone (averages over its averaging
/// interval, integrated as the hwmon meter integrates them; the 0xFFFFFFFF sentinel rejected),
/// or nothing, with the reason, where there is none.
std::optional<zone_source> acpi_power_meter_zone(const kepler_config& config, std::vector<log_note>& notes);

}  // namespace kepler
