#pragma once
// One reading of an energy zone, as a sampler reports it.

#include <cstdint>
#include <string>

namespace kepler {

/// A zone's energy at one instant. `total_uj` is wrap-corrected since the sampler started;
/// `generation` changes when the sampler restarts, so consumers re-baseline from `raw_uj`.
struct energy_reading {
  std::string zone_id;           ///< the physical zone's path: stable across restarts
  uint64_t raw_uj = 0;           ///< the hardware counter as read
  uint64_t total_uj = 0;         ///< wrap-corrected energy since this sampler's first reading
  uint64_t max_energy_uj = 0;    ///< wrap boundary, 0 = unknown
  uint64_t generation = 0;       ///< sampler incarnation
  int64_t measured_mono_ns = 0;  ///< CLOCK_MONOTONIC at the read
  int64_t measured_wall_ns = 0;  ///< wall clock at the read, for output
};

}  // namespace kepler
