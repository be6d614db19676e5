#pragma once
// One actor per energy zone: reads the counter when asked and polls in between so that
// the counter never wraps twice unseen. Readings no plausible power explains are rejected and
// counted. Runs detached: a hanging read blocks only itself.

#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include "actors/messages.hpp"
#include "attribution/actor_stats.hpp"
#include "base/result.hpp"
#include "sensors/power/energy_counter.hpp"

namespace kepler {

struct energy_sampler_config {
  std::string zone_id;                            ///< the zone's path
  std::function<result<uint64_t>()> read_energy;  ///< raw counter in µJ
  uint64_t max_energy_uj = 0;
  double max_plausible_watts = 0;  ///< 0 = no bound on a reading's power
  uint64_t generation = 0;
  caf::timespan poll_period = std::chrono::seconds(5);
  std::shared_ptr<actor_stats> stats;
  std::string actor_name;
  std::string source;      ///< labels of rejected readings: rapl, fake-cpu-meter
  std::string zone_label;  ///< e.g. package-0
};

struct energy_sampler_state {
  static inline const char* name = "energy_sampler";
  energy_sampler_config config;
  energy_counter counter{0};
  std::string last_error;
  uint64_t rejected_in_a_row = 0;  ///< logged when it starts and when it ends, not each time
};

/// How often a zone must be read so that it cannot wrap twice between two reads at
/// `max_plausible_watts`: half the fastest wrap period, at most `interval`.
caf::timespan sampler_poll_period(uint64_t max_energy_uj, double max_plausible_watts, caf::timespan interval);

energy_sampler_actor::behavior_type energy_sampler(energy_sampler_actor::stateful_pointer<energy_sampler_state> self,
                                                   energy_sampler_config config);

}  // namespace kepler
