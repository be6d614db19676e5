#pragma once
// Turns a zone's power readings into the cumulative energy counter every meter provides, on the
// sampler's own monotonic clock.

#include <cstdint>
#include <optional>

#include "base/result.hpp"

namespace kepler {

/// Each accepted reading covers the time since the previous accepted one (an average over that
/// interval, or the latest instant reading standing for it): a power that steps between
/// readings is off by at most one step × one sampling period in all, not per interval. A
/// reading above `max_watts` (an ACPI power meter's 0xFFFFFFFF × 1000 sentinel, a glitch) is
/// rejected as implausible; the next accepted reading then covers the gap, so no time is lost.
class power_integrator {
 public:
  explicit power_integrator(double max_watts) : max_watts_(max_watts) {}

  /// Feeds a reading in µW taken at `mono_ns` and returns the energy in µJ since the first one.
  result<uint64_t> update(uint64_t microwatts, int64_t mono_ns);

 private:
  double max_watts_;
  std::optional<int64_t> last_ns_;
  double energy_uj_ = 0;  ///< fractions of a µJ carried over, so short intervals lose nothing
};

}  // namespace kepler
