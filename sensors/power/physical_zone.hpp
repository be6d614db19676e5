#pragma once
// A power zone as a meter found it: one per socket for RAPL.

#include <cstdint>
#include <string>

namespace kepler {

/// A zone as discovered: one per socket for RAPL.
struct physical_zone {
  std::string name;
  int index = 0;
  std::string path;
  uint64_t max_energy_uj = 0;
  double max_plausible_watts = 0;  ///< bounds the energy bridged across a sampler restart; 0 = none
};

}  // namespace kepler
