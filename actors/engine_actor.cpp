#include "actors/engine_actor.hpp"

#include <spdlog/spdlog.h>

#include "base/clock.hpp"
#include "sensors/proc/self_stats.hpp"

namespace kepler {
namespace {

using engine_ptr = caf::stateful_actor<engine_state>*;

int64_t to_ns(caf::actor_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

/// Records a source's answer; logs only when its state changes, not every interval.
void record_outcome(engine_ptr self, std::size_t index, const caf::error* failure) {
  auto& health = self->state.books->health[index];
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
  auto& books = *st.books;
  if (st.config.before_math) st.config.before_math(st.input);
  auto snap = books.math->update(st.input);
  snap->sources = books.health;
  if (st.config.stats) {
    st.config.stats->set_mailbox_depth("engine", self->mailbox().size());
    snap->actors = st.config.stats->read();
    snap->rejected = st.config.stats->rejected();
  }
  snap->cpu_source = books.cpu_source;
  snap->bpf = books.bpf;
  if (books.kube_source) {
    snap->kube = books.kube.update(*snap);
    snap->kube_source = books.kube_source;
  }
  snap->procfs_skipped_total = books.procfs_skipped_total;
  snap->procfs_fallback_reads_total = books.procfs_fallback_reads_total;
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
            auto& books = *state.books;
            books.procfs_skipped_total += sample.table->skipped;
            books.procfs_fallback_reads_total += sample.table->fallback_reads;
            books.health[zones].source = sample.source;
            books.cpu_source = sample.source;
            books.bpf = std::move(sample.bpf);
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

std::shared_ptr<engine_books> new_engine_books(const engine_config& config) {
  auto books = std::make_shared<engine_books>();
  books->math = std::make_unique<attribution>(config.zones, config.terminated);
  for (const auto& source : config.energy_sources)
    books->health.push_back(source_health{source.source, source.zone, false, 0, 0});
  books->health.push_back(source_health{"procfs", "", false, 0, 0});
  if (config.stats) {
    // Bridges across sampler restarts that the math rejects count with the samplers' own.
    std::vector<std::pair<std::string, std::string>> labels;  // (source, zone) per zone
    for (const auto& source : config.energy_sources) {
      labels.emplace_back(source.source, source.zone);
      config.stats->add_zone(source.source, source.zone);
    }
    books->math->observe_rejections([stats = config.stats, labels](std::size_t zone, reading_verdict verdict) {
      stats->add_rejected(labels[zone].first, labels[zone].second, to_string(verdict));
    });
  }
  return books;
}

caf::behavior attribution_engine(caf::stateful_actor<engine_state>* self, engine_config config) {
  auto& st = self->state;
  if (!config.books) config.books = new_engine_books(config);
  st.books = config.books.get();
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
          ++state.books->skipped_ticks;
          return;
        }
        start_round(self);
      },
      // Latest wins: the next snapshot uses it; nothing waits for the pod source.
      [=](pod_update& update) {
        auto& books = *self->state.books;
        if (update.index) books.kube.set_index(std::move(update.index));
        books.kube_source = std::move(update.health);
      },
  };
}

}  // namespace kepler
