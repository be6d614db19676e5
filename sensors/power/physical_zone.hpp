#pragma once
// A power zone as a meter found it.

#include <chrono>
#include <cstdint>
#include <string>

namespace kepler {

/// A zone as discovered: one per socket for RAPL and MSR, one per channel for hwmon.
struct physical_zone {
  std::string name;
  int index = 0;
  std::string path;
  uint64_t max_energy_uj = 0;
  double max_plausible_watts = 0;  ///< bounds the energy bridged across a sampler restart; 0 = none
  /// How often the zone must be read for its own sake (power readings to integrate), 0 = only
  /// as often as its counter's wrap requires.
  std::chrono::nanoseconds sample_period{0};
  /// The whole node's power (a BMC, the ACPI power meter), not a CPU zone: exported as
  /// kepler_platform_* and kept out of kepler_*_cpu_*.
  bool platform = false;
};

}  // namespace kepler
