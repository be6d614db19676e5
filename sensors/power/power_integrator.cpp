#include "sensors/power/power_integrator.hpp"

#include <cmath>
#include <string>

namespace kepler {

result<uint64_t> power_integrator::update(uint64_t microwatts, int64_t mono_ns) {
  const double watts = static_cast<double>(microwatts) / 1e6;
  if (max_watts_ > 0 && watts > max_watts_)
    return make_error(errc::implausible, "power reading " + std::to_string(microwatts) + " µW is above the zone's " +
                                             std::to_string(static_cast<uint64_t>(max_watts_)) + " W maximum");
  if (last_ns_ && mono_ns > *last_ns_) {
    const double charged_watts = kind_ == readings::averages ? watts : (watts + last_watts_) / 2;
    energy_uj_ += charged_watts * static_cast<double>(mono_ns - *last_ns_) / 1e3;
  }
  if (!last_ns_ || mono_ns > *last_ns_) last_ns_ = mono_ns;
  last_watts_ = watts;
  return static_cast<uint64_t>(std::floor(energy_uj_));
}

}  // namespace kepler
