#pragma once
// Keeps the attribution engine running: an engine that dies abnormally is respawned with
// backoff on the same books (engine_books), so exported counters never go back.

#include <memory>
#include <optional>

#include "actors/engine_actor.hpp"
#include "base/backoff.hpp"

namespace kepler {

struct engine_supervisor_state {
  static inline const char* name = "engine_supervisor";
  engine_config config;  ///< with its books, shared by every incarnation
  engine_actor engine;
  std::unique_ptr<backoff> delay;
  caf::actor_clock::time_point started_at;
  std::optional<pod_update> latest_pods;  ///< handed to a restarted engine
};

/// The supervisor is the engine's stable address for pod updates.
using engine_supervisor_actor = pod_sink::extend<caf::reacts_to<restart_atom>>;

/// Spawns the engine and restarts it after a crash (about 100 ms doubling to 30 s, back to
/// 100 ms after a minute without one); counts each restart as `engine` in actor_stats.
engine_supervisor_actor::behavior_type engine_supervisor(
    engine_supervisor_actor::stateful_pointer<engine_supervisor_state> self, engine_config config);

}  // namespace kepler
