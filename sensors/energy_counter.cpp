#include "sensors/energy_counter.hpp"

namespace kepler {

uint64_t wrapped_delta_uj(uint64_t previous_uj, uint64_t current_uj, uint64_t max_energy_uj) {
  if (current_uj >= previous_uj) return current_uj - previous_uj;
  // A drop past a known range is one wrap; without a range (or with a previous reading that
  // lies outside it) we cannot tell a wrap from a reset, and inventing energy is worse than
  // losing one window.
  if (max_energy_uj == 0 || previous_uj > max_energy_uj) return 0;
  return (max_energy_uj - previous_uj) + current_uj;
}

uint64_t energy_counter::update(uint64_t raw_uj) {
  uint64_t delta = 0;
  if (has_reading_) delta = wrapped_delta_uj(last_raw_uj_, raw_uj, max_energy_uj_);
  has_reading_ = true;
  last_raw_uj_ = raw_uj;
  total_uj_ += delta;
  return delta;
}

}  // namespace kepler
