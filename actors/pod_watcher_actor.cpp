#include "actors/pod_watcher_actor.hpp"

#include "actors/logging.hpp"
#include "base/clock.hpp"

namespace kepler {

caf::behavior pod_watcher(caf::stateful_actor<pod_watcher_state>* self, pod_watcher_config config) {
  auto& st = self->state;
  st.stopping = config.stopping;
  auto engine = config.engine;
  st.informer.emplace(
      std::move(config.settings), std::move(config.cluster),
      [self, engine](pod_index_ptr index, const kube_health& health) {
        self->send(engine, pod_update{std::move(index), health});
      },
      [](const log_note& note) { write_log(note); }, config.random ? config.random : real_random,
      [] { return static_cast<double>(wall_now_ns()) / 1e9; });
  st.informer->start();  // the engine reports the source down until the first sync
  self->send(self, poll_atom_v);
  return {
      [=](poll_atom) {
        auto& state = self->state;
        auto stop = [flag = state.stopping] { return flag->load(); };
        auto next = state.informer->step(stop);
        if (stop()) return;
        if (next.count() == 0) self->send(self, poll_atom_v);
        else self->delayed_send(self, next, poll_atom_v);
      },
  };
}

}  // namespace kepler
