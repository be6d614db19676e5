#pragma once
// Turns a zone's power readings into the cumulative energy counter every meter provides, on the
// sampler's own monotonic clock.

#include <cstdint>
#include <optional>

#include "base/result.hpp"

namespace kepler {

/// The time between two accepted readings is charged at the later one when readings are averages
/// over the time before them (`powerN_average`), and at the mean of the two when they are
/// instant values (`powerN_input`, voltage × current): a power stepping as often as it is
/// sampled then averages out instead of aliasing. A reading above `max_watts` (an ACPI power
/// meter's 0xFFFFFFFF × 1000 sentinel, a glitch) is rejected as implausible; the next accepted
/// reading then covers the gap, so no time is lost.
class power_integrator {
 public:
  enum class readings { averages, instants };
  power_integrator(double max_watts, readings kind) : max_watts_(max_watts), kind_(kind) {}

  /// Feeds a reading in µW taken at `mono_ns` and returns the energy in µJ since the first one.
  result<uint64_t> update(uint64_t microwatts, int64_t mono_ns);

 private:
  double max_watts_;
  readings kind_;
  std::optional<int64_t> last_ns_;
  double last_watts_ = 0;
  double energy_uj_ = 0;  ///< fractions of a µJ carried over, so short intervals lose nothing
};

}  // namespace kepler
