#include "actors/energy_sampler_actor.hpp"

#include <algorithm>

#include "actors/clock.hpp"

namespace kepler {
namespace {

using sampler_ptr = energy_sampler_actor::stateful_pointer<energy_sampler_state>;

/// Reads the zone once; on success the counter absorbs the reading.
result<energy_reading> sample(sampler_ptr self) {
  auto& st = self->state;
  auto raw = st.config.read_energy();
  if (!raw) {
    st.last_error = raw.error_message();
    return make_error(raw.error_message());
  }
  st.counter.update(raw.value());
  st.last_error.clear();
  return energy_reading{st.config.zone_id, raw.value(), st.counter.total_uj(),
                        st.config.max_energy_uj, st.config.generation, monotonic_now_ns(),
                        wall_now_ns()};
}

}  // namespace

caf::timespan sampler_poll_period(uint64_t max_energy_uj, double max_plausible_watts,
                                  caf::timespan interval) {
  if (max_energy_uj == 0 || max_plausible_watts <= 0) return interval;
  double wrap_seconds = static_cast<double>(max_energy_uj) / 1e6 / max_plausible_watts;
  auto half_wrap = std::chrono::duration_cast<caf::timespan>(
      std::chrono::duration<double>(wrap_seconds / 2));
  return std::clamp<caf::timespan>(half_wrap, std::chrono::milliseconds(10), interval);
}

energy_sampler_actor::behavior_type energy_sampler(
    energy_sampler_actor::stateful_pointer<energy_sampler_state> self, energy_sampler_config config) {
  self->state.counter = energy_counter(config.max_energy_uj);
  self->state.config = std::move(config);
  sample(self);  // the baseline, so the first request already measures a window
  self->delayed_send(self, self->state.config.poll_period, poll_atom_v);
  auto record_depth = [self] {
    if (self->state.config.stats)
      self->state.config.stats->set_mailbox_depth(self->state.config.actor_name,
                                                  self->mailbox().size());
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
        if (!reading) return make_sensor_error(sensor_errc::read_failed, reading.error_message());
        return std::move(reading).value();
      },
  };
}

}  // namespace kepler
