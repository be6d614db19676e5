#pragma once
// Every message type, atom, error code and actor interface of the daemon.

#include <cstdint>
#include <memory>
#include <string>

#include <caf/all.hpp>

#include "attribution/engine_round.hpp"
#include "attribution/snapshot.hpp"
#include "base/result.hpp"
#include "sensors/power/energy_reading.hpp"
#include "sensors/proc/process_table.hpp"

static_assert(CAF_VERSION >= 1706 && CAF_VERSION < 1800, "written for CAF 0.17");

namespace kepler {

/// A new pod list from the pod watcher, or only its health (`index` null: keep the last one).
struct pod_update {
  pod_index_ptr index;
  kube_health health;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, energy_reading& x) {
  return f(caf::meta::type_name("energy_reading"), x.zone_id, x.raw_uj, x.total_uj, x.max_energy_uj, x.generation,
           x.measured_mono_ns, x.measured_wall_ns);
}

/// Carries one of our errors (base/result.hpp) across an actor boundary: a CAF error of
/// category "kepler" whose code is the error's kind (plus one: 0 is no error) and whose context is its message.
caf::error to_caf_error(const error& failure);

/// Renders a CAF error as text: ours as "<kind>: <message>" (unclassified: the message), CAF's
/// own by CAF.
std::string describe(const caf::error& err);

}  // namespace kepler

// Immutable data shared by pointer between actors of one process; never serialized.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(kepler::cpu_sample)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(kepler::snapshot_ptr)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(kepler::pod_update)

CAF_BEGIN_TYPE_ID_BLOCK(kepler, caf::first_custom_type_id)
CAF_ADD_TYPE_ID(kepler, (kepler::energy_reading))
CAF_ADD_ATOM(kepler, kepler, restart_atom, "restart")
CAF_ADD_ATOM(kepler, kepler, poll_atom, "poll")
CAF_END_TYPE_ID_BLOCK(kepler)

namespace kepler {

/// A source that answers `get` with its latest reading.
template <class Reading>
using source_actor = caf::typed_actor<typename caf::replies_to<caf::get_atom>::template with<Reading>>;

using energy_source_actor = source_actor<energy_reading>;
using cpu_source_actor = source_actor<cpu_sample>;

/// An energy sampler also polls itself between requests so it never misses a wrap.
using energy_sampler_actor = energy_source_actor::extend<caf::reacts_to<poll_atom>>;

/// Receives every snapshot the engine publishes (the HTTP server, the stdout exporter).
using snapshot_sink = caf::typed_actor<caf::reacts_to<snapshot_ptr>>;

/// Receives every change of the pod list (the engine, through its supervisor).
using pod_sink = caf::typed_actor<caf::reacts_to<pod_update>>;

/// The attribution engine: rounds on its own timer, pod updates in between.
using engine_actor = caf::typed_actor<caf::reacts_to<caf::tick_atom>, caf::reacts_to<pod_update>>;

}  // namespace kepler
