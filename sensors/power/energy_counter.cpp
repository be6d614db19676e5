#include "sensors/power/energy_counter.hpp"

namespace kepler {
namespace {

/// Slack on top of the elapsed time: counters advance in steps (RAPL about every 1 ms),
/// so two reads close together can see one whole step.
constexpr double update_slack_seconds = 0.010;

bool within_power(uint64_t delta_uj, int64_t elapsed_ns, double max_watts) {
  if (max_watts <= 0) return true;
  double seconds = elapsed_ns > 0 ? static_cast<double>(elapsed_ns) / 1e9 : 0.0;
  return static_cast<double>(delta_uj) <= max_watts * 1e6 * (seconds + update_slack_seconds);
}

}  // namespace

uint64_t wrapped_delta_uj(uint64_t previous_uj, uint64_t current_uj, uint64_t max_energy_uj) {
  if (current_uj >= previous_uj) return current_uj - previous_uj;
  // A drop past a known range is one wrap; without a range (or with a previous reading that
  // lies outside it) we cannot tell a wrap from a reset, and inventing energy is worse than
  // losing one window.
  if (max_energy_uj == 0 || previous_uj > max_energy_uj) return 0;
  return (max_energy_uj - previous_uj) + current_uj;
}

std::string_view to_string(reading_verdict verdict) {
  switch (verdict) {
    case reading_verdict::accepted: return "accepted";
    case reading_verdict::out_of_range: return "out_of_range";
    case reading_verdict::reset: return "reset";
    case reading_verdict::implausible: return "implausible";
  }
  return "unknown";
}

judged_delta judge_delta(raw_sample before, raw_sample after, const counter_limits& limits) {
  if (limits.max_energy_uj != 0 && after.raw_uj > limits.max_energy_uj) return {reading_verdict::out_of_range, 0};
  const bool rose = after.raw_uj >= before.raw_uj;
  if (!rose && (limits.max_energy_uj == 0 || before.raw_uj > limits.max_energy_uj))
    return {reading_verdict::reset, 0};  // a drop that no known range explains
  uint64_t delta = wrapped_delta_uj(before.raw_uj, after.raw_uj, limits.max_energy_uj);
  if (within_power(delta, after.mono_ns - before.mono_ns, limits.max_watts)) return {reading_verdict::accepted, delta};
  // A wrap that would need more than the plausible power is a reset; a rise, a jump.
  return {rose ? reading_verdict::implausible : reading_verdict::reset, 0};
}

void energy_counter::accept(raw_sample sample, uint64_t delta_uj) {
  total_uj_ += delta_uj;
  last_ = sample;
  suspect_.reset();
}

energy_counter::step energy_counter::update(uint64_t raw_uj, int64_t mono_ns) {
  const raw_sample sample{raw_uj, mono_ns};
  if (!has_reading_) {
    if (limits_.max_energy_uj != 0 && raw_uj > limits_.max_energy_uj) return {reading_verdict::out_of_range, 0};
    has_reading_ = true;
    accept(sample, 0);
    return {};
  }
  auto judged = judge_delta(last_, sample, limits_);
  if (judged.verdict == reading_verdict::accepted) {
    accept(sample, judged.delta_uj);
    return {reading_verdict::accepted, judged.delta_uj};
  }
  if (judged.verdict != reading_verdict::out_of_range && suspect_) {
    // The counter really moved to the suspect: resume from there.
    auto from_suspect = judge_delta(*suspect_, sample, limits_);
    if (from_suspect.verdict == reading_verdict::accepted) {
      accept(sample, from_suspect.delta_uj);
      return {reading_verdict::accepted, from_suspect.delta_uj};
    }
  }
  if (judged.verdict != reading_verdict::out_of_range) suspect_ = sample;
  return {judged.verdict, 0};
}

}  // namespace kepler
