#include "actors/energy_sampler_actor.hpp"

#include <algorithm>
#include <string>
#include <utility>

#include <spdlog/spdlog.h>

#include "base/clock.hpp"

namespace kepler {
namespace {

using sampler_ptr = energy_sampler_actor::stateful_pointer<energy_sampler_state>;

/// Counts a rejected reading; logs the first of a run of them (`what` describes the reading).
void note_rejected(sampler_ptr self, reading_verdict verdict, const std::string& what) {
  auto& st = self->state;
  if (st.config.stats) st.config.stats->add_rejected(st.config.source, st.config.zone_label, to_string(verdict));
  if (st.rejected_in_a_row++ == 0)
    spdlog::warn("{}: rejected {} of {} ({}; baseline {} µJ); its energy is not counted", st.config.actor_name, what,
                 st.config.zone_id, to_string(verdict), st.counter.last_raw_uj());
}

/// Reads the zone once; the counter absorbs the reading unless it is rejected.
result<energy_reading> sample(sampler_ptr self) {
  auto& st = self->state;
  auto raw = st.config.read_energy();
  if (!raw) {
    st.last_error = raw.error_message();
    // A meter that judges its own readings (integrated power) rejects them as RAPL's are.
    if (raw.error().kind == errc::implausible) note_rejected(self, reading_verdict::implausible, raw.error_message());
    return make_error(raw.error_message());
  }
  const auto mono_ns = monotonic_now_ns();
  auto step = st.counter.update(raw.value(), mono_ns);
  if (step.verdict != reading_verdict::accepted) {
    note_rejected(self, step.verdict, "reading " + std::to_string(raw.value()) + " µJ");
    st.last_error =
        "rejected reading " + std::to_string(raw.value()) + " µJ (" + std::string(to_string(step.verdict)) + ")";
    return make_error(st.last_error);
  }
  if (st.rejected_in_a_row > 0)
    spdlog::info("{}: readings plausible again after {} rejected", st.config.actor_name,
                 std::exchange(st.rejected_in_a_row, 0));
  st.last_error.clear();
  return energy_reading{st.config.zone_id,    raw.value(), st.counter.total_uj(), st.config.max_energy_uj,
                        st.config.generation, mono_ns,     wall_now_ns()};
}

}  // namespace

caf::timespan sampler_poll_period(uint64_t max_energy_uj, double max_plausible_watts, caf::timespan interval) {
  if (max_energy_uj == 0 || max_plausible_watts <= 0) return interval;
  double wrap_seconds = static_cast<double>(max_energy_uj) / 1e6 / max_plausible_watts;
  auto half_wrap = std::chrono::duration_cast<caf::timespan>(std::chrono::duration<double>(wrap_seconds / 2));
  return std::clamp<caf::timespan>(half_wrap, std::chrono::milliseconds(10), interval);
}

energy_sampler_actor::behavior_type energy_sampler(energy_sampler_actor::stateful_pointer<energy_sampler_state> self,
                                                   energy_sampler_config config) {
  self->state.counter = energy_counter(counter_limits{config.max_energy_uj, config.max_plausible_watts});
  self->state.config = std::move(config);
  sample(self);  // the baseline, so the first request already measures a window
  self->delayed_send(self, self->state.config.poll_period, poll_atom_v);
  auto record_depth = [self] {
    if (self->state.config.stats)
      self->state.config.stats->set_mailbox_depth(self->state.config.actor_name, self->mailbox().size());
  };
  return {
      [=](poll_atom) {
        record_depth();
        sample(self);
        self->delayed_send(self, self->state.config.poll_period, poll_atom_v);
      },
      [=](caf::get_atom) -> caf::result<energy_reading> {
        record_depth();
        auto reading = sample(self);
        if (!reading) return to_caf_error(reading.error());
        return std::move(reading).value();
      },
  };
}

}  // namespace kepler
