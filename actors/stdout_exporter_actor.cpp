#include "actors/stdout_exporter_actor.hpp"

#include <chrono>

#include "metrics/stdout_table.hpp"

namespace kepler {

stdout_exporter_actor::behavior_type stdout_exporter(
    stdout_exporter_actor::stateful_pointer<stdout_exporter_state> self, std::FILE* out) {
  self->state.out = out;
  self->delayed_send(self, std::chrono::seconds(2), caf::tick_atom_v);
  return {
      [=](const snapshot_ptr& snap) { self->state.latest = snap; },
      [=](caf::tick_atom) {
        self->delayed_send(self, std::chrono::seconds(2), caf::tick_atom_v);
        if (!self->state.latest) return;
        auto table = format_node_table(*self->state.latest);
        std::fwrite(table.data(), 1, table.size(), self->state.out);
        std::fflush(self->state.out);
      },
  };
}

}  // namespace kepler
