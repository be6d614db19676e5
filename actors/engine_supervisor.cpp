#include "actors/engine_supervisor.hpp"

#include <random>

#include <spdlog/spdlog.h>

namespace kepler {
namespace {

using supervisor_ptr = engine_supervisor_actor::stateful_pointer<engine_supervisor_state>;

/// An engine that ran this long without dying was not crash-looping: the next delay is short.
constexpr auto stable_period = std::chrono::minutes(1);

void start_engine(supervisor_ptr self) {
  auto& st = self->state;
  st.engine = self->spawn(attribution_engine, st.config);
  st.started_at = self->clock().now();
  self->monitor(st.engine);
  if (st.latest_pods) self->send(st.engine, *st.latest_pods);
}

double jitter() {
  thread_local std::mt19937 engine{std::random_device{}()};
  return std::uniform_real_distribution<>(0, 1)(engine);
}

}  // namespace

engine_supervisor_actor::behavior_type engine_supervisor(
    engine_supervisor_actor::stateful_pointer<engine_supervisor_state> self, engine_config config) {
  using namespace std::chrono_literals;
  auto& st = self->state;
  if (!config.books) config.books = new_engine_books(config);
  st.config = std::move(config);
  st.delay = std::make_unique<backoff>(100ms, 30s, jitter);
  start_engine(self);

  self->set_down_handler([=](caf::down_msg& down) {
    auto& state = self->state;
    if (!state.engine || down.source != state.engine.address()) return;
    state.engine = nullptr;
    if (self->clock().now() - state.started_at >= stable_period) state.delay->reset();
    if (state.config.stats) state.config.stats->add_restart("engine");
    auto wait = state.delay->next();
    spdlog::error("attribution engine stopped ({}); restarting in {} ms with its totals", describe(down.reason),
                  wait.count());
    self->delayed_send(self, wait, restart_atom_v);
  });
  self->set_exit_handler([=](caf::exit_msg& exit) {
    if (self->state.engine) self->send_exit(self->state.engine, exit.reason);
    self->quit(exit.reason);
  });
  return {
      [=](restart_atom) {
        if (!self->state.engine) start_engine(self);
      },
      // The pod watcher's updates go to whichever engine runs; the latest is kept for the next.
      [=](pod_update& update) {
        auto& state = self->state;
        pod_index_ptr last_index = state.latest_pods ? state.latest_pods->index : nullptr;
        state.latest_pods = pod_update{update.index ? update.index : last_index, update.health};
        if (state.engine) self->send(state.engine, std::move(update));
      },
  };
}

}  // namespace kepler
