#pragma once
// Turns a wrapping hardware energy counter into a monotonic total, rejecting readings that
// no plausible power can explain.

#include <cstdint>
#include <optional>
#include <string_view>

namespace kepler {

/// Energy between two raw readings of a counter that wraps at `max_energy_uj`
/// (0 = unknown). A drop with an unknown range counts as a reset and yields 0.
uint64_t wrapped_delta_uj(uint64_t previous_uj, uint64_t current_uj, uint64_t max_energy_uj);

/// What became of one raw reading.
enum class reading_verdict : uint8_t {
  accepted,      ///< counted (the first reading only sets the baseline)
  out_of_range,  ///< above the zone's `max_energy_range_uj`: not a counter value
  reset,         ///< the counter went back further than a plausible wrap explains
  implausible,   ///< the counter rose faster than the zone's maximum plausible power
};

/// `out_of_range`, `reset`, `implausible`: the `reason` label of rejected readings.
std::string_view to_string(reading_verdict verdict);

/// The bounds a zone's readings must respect.
struct counter_limits {
  uint64_t max_energy_uj = 0;  ///< wrap boundary, 0 = unknown
  double max_watts = 0;        ///< maximum plausible power of the zone, 0 = unbounded
};

/// A raw reading and when it was taken (CLOCK_MONOTONIC).
struct raw_sample {
  uint64_t raw_uj = 0;
  int64_t mono_ns = 0;
};

/// Energy from `before` to `after` if a plausible power explains it (rise, or one wrap of a
/// known range), else the verdict against it. The bound is `max_watts` over the elapsed time
/// plus 10 ms, the coarsest update period of an energy counter.
struct judged_delta {
  reading_verdict verdict = reading_verdict::accepted;
  uint64_t delta_uj = 0;
};
judged_delta judge_delta(raw_sample before, raw_sample after, const counter_limits& limits);

/// Accumulates raw readings into a 64-bit total since the first reading. A rejected reading
/// adds nothing and leaves the baseline alone, but is kept as a suspect: when the next reading
/// is plausible from the suspect and not from the baseline, the counter was really reset or
/// jumped, and counting resumes from the suspect (the energy between the two is lost). A
/// one-off glitch therefore loses nothing, and a counter that really jumped is never stuck.
class energy_counter {
 public:
  explicit energy_counter(counter_limits limits) : limits_(limits) {}
  explicit energy_counter(uint64_t max_energy_uj) : limits_{max_energy_uj, 0} {}

  struct step {
    reading_verdict verdict = reading_verdict::accepted;
    uint64_t delta_uj = 0;  ///< energy added by this reading
  };
  /// Feeds a raw reading taken at `mono_ns`; the first one only sets the baseline.
  step update(uint64_t raw_uj, int64_t mono_ns = 0);

  uint64_t total_uj() const { return total_uj_; }
  /// The baseline: the last accepted raw reading.
  uint64_t last_raw_uj() const { return last_.raw_uj; }
  int64_t last_mono_ns() const { return last_.mono_ns; }
  bool has_reading() const { return has_reading_; }
  uint64_t max_energy_uj() const { return limits_.max_energy_uj; }

 private:
  void accept(raw_sample sample, uint64_t delta_uj);

  counter_limits limits_;
  uint64_t total_uj_ = 0;
  raw_sample last_;
  std::optional<raw_sample> suspect_;
  bool has_reading_ = false;
};

}  // namespace kepler
