#pragma once
// Chooses the power source along the ladder of cpu.preferredMeters (RAPL, then the fake
// meter) and describes each zone with a way to read it. CAF-free.

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "sensors/power/physical_zone.hpp"
#include "config/config.hpp"
#include "base/result.hpp"

namespace kepler {

using energy_read_fn = std::function<result<uint64_t>()>;

/// One zone of the chosen meter. `make_reader` builds a fresh reader for each sampler
/// incarnation, so a restarted sampler never inherits broken state.
struct zone_source {
  physical_zone zone;
  std::string label;  ///< zone label in self-metrics, e.g. package-0
  std::function<energy_read_fn()> make_reader;
};

/// Something selection found or decided, for the start-up log.
struct meter_note {
  bool warning = false;
  std::string text;
};

struct power_meter {
  std::string source;  ///< rapl, fake-cpu-meter, or empty when no meter works
  std::vector<zone_source> zones;
  std::vector<meter_note> notes;
};

/// Walks cpu.preferredMeters and returns the first meter with at least one readable zone.
power_meter select_power_meter(const kepler_config& config);

}  // namespace kepler
