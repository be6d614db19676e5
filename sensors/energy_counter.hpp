#pragma once
// Turns a wrapping hardware energy counter into a monotonic total.

#include <cstdint>

namespace kepler {

/// Energy between two raw readings of a counter that wraps at `max_energy_uj`
/// (0 = unknown). A drop with an unknown range counts as a reset and yields 0.
uint64_t wrapped_delta_uj(uint64_t previous_uj, uint64_t current_uj, uint64_t max_energy_uj);

/// Accumulates raw readings into a 64-bit total since the first reading.
class energy_counter {
 public:
  explicit energy_counter(uint64_t max_energy_uj) : max_energy_uj_(max_energy_uj) {}

  /// Feeds a raw reading; returns the energy added since the previous one (0 for the first).
  uint64_t update(uint64_t raw_uj);

  uint64_t total_uj() const { return total_uj_; }
  uint64_t last_raw_uj() const { return last_raw_uj_; }
  bool has_reading() const { return has_reading_; }
  uint64_t max_energy_uj() const { return max_energy_uj_; }

 private:
  uint64_t max_energy_uj_;
  uint64_t total_uj_ = 0;
  uint64_t last_raw_uj_ = 0;
  bool has_reading_ = false;
};

}  // namespace kepler
