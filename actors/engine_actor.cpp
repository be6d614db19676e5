#include "actors/engine_actor.hpp"

#include <spdlog/spdlog.h>

#include "actors/clock.hpp"
#include "sensors/self_stats.hpp"

namespace kepler {
namespace {

using engine_ptr = caf::stateful_actor<engine_state>*;

int64_t to_ns(caf::actor_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

/// Records a source's answer; logs only when its state changes, not every interval.
void record_outcome(engine_ptr self, std::size_t index, const caf::error* failure) {
  auto& health = self->state.health[index];
  if (!failure) {
    if (!health.up && health.last_success_seconds > 0)
      spdlog::info("source {} {} is back", health.source, health.zone);
    health.up = true;
    health.last_success_seconds = static_cast<double>(wall_now_ns()) / 1e9;
    return;
  }
  ++health.errors;
  if (health.up || health.errors == 1)
    spdlog::warn("source {} {} is down: {}", health.source, health.zone, describe(*failure));
  health.up = false;
}

void finish_round(engine_ptr self) {
  auto& st = self->state;
  st.round_open = false;
  st.input.mono_ns = to_ns(self->clock().now());
  st.input.wall_ns = wall_now_ns();
  auto snap = st.math->update(st.input);
  snap->sources = st.health;
  if (st.config.stats) {
    st.config.stats->set_mailbox_depth("engine", self->mailbox().size());
    snap->actors = st.config.stats->read();
  }
  snap->cpu_source = st.cpu_source;
  snap->bpf = st.bpf;
  snap->procfs_skipped_total = st.procfs_skipped_total;
  snap->procfs_fallback_reads_total = st.procfs_fallback_reads_total;
  snap->collection_seconds =
      std::chrono::duration<double>(self->clock().now() - st.round_started).count();
  if (auto self_usage = read_self_stats(st.config.procfs_root)) snap->self = self_usage.value();
  snapshot_ptr published = std::move(snap);
  for (const auto& sink : st.config.sinks) self->send(sink, published);
}

void answered(engine_ptr self) {
  if (--self->state.outstanding == 0) finish_round(self);
}

void start_round(engine_ptr self) {
  auto& st = self->state;
  std::size_t zones = st.config.energy_sources.size();
  st.round_open = true;
  st.round_started = self->clock().now();
  st.outstanding = zones + 1;
  st.input = round_input{};
  st.input.readings.resize(zones);
  for (std::size_t i = 0; i < zones; ++i) {
    self->request(st.config.energy_sources[i].handle, st.config.deadline, caf::get_atom_v)
        .then(
            [=](energy_reading& reading) {
              self->state.input.readings[i] = std::move(reading);
              record_outcome(self, i, nullptr);
              answered(self);
            },
            [=](caf::error& err) {
              record_outcome(self, i, &err);
              answered(self);
            });
  }
  self->request(st.config.cpu_source, st.config.deadline, caf::get_atom_v)
      .then(
          [=](cpu_sample& sample) {
            auto& state = self->state;
            state.procfs_skipped_total += sample.table->skipped;
            state.procfs_fallback_reads_total += sample.table->fallback_reads;
            state.health[zones].source = sample.source;
            state.cpu_source = sample.source;
            state.bpf = std::move(sample.bpf);
            state.input.cpu = std::move(sample.table);
            record_outcome(self, zones, nullptr);
            answered(self);
          },
          [=](caf::error& err) {
            record_outcome(self, zones, &err);
            answered(self);
          });
}

}  // namespace

caf::behavior attribution_engine(caf::stateful_actor<engine_state>* self, engine_config config) {
  auto& st = self->state;
  st.math = std::make_unique<attribution>(config.zones, config.terminated);
  for (const auto& source : config.energy_sources)
    st.health.push_back(source_health{source.source, source.zone, false, 0, 0});
  st.health.push_back(source_health{"procfs", "", false, 0, 0});
  st.config = std::move(config);
  st.next_tick = self->clock().now();
  self->send(self, caf::tick_atom_v);
  return {
      [=](caf::tick_atom) {
        auto& state = self->state;
        // Drift-free: schedule the next tick first, from the planned time.
        state.next_tick += state.config.interval;
        self->scheduled_send(self, state.next_tick, caf::tick_atom_v);
        if (state.round_open) {
          ++state.skipped_ticks;
          return;
        }
        start_round(self);
      },
  };
}

}  // namespace kepler
