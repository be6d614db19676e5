#pragma once
// Supervises one source actor and is its stable address (docs/architecture.md §5): requests are
// forwarded to the child, at most one at a time; a child that dies is restarted with
// backoff while the others keep going. A child stuck in a read (it cannot be stopped while
// the read blocks) is abandoned for a fresh one, but only while few are stuck, so a read
// that hangs for good costs a bounded number of threads.

#include <functional>
#include <memory>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include <spdlog/spdlog.h>

#include "actors/messages.hpp"
#include "attribution/actor_stats.hpp"
#include "base/backoff.hpp"

namespace kepler {

template <class Reading>
using supervisor_actor = typename source_actor<Reading>::template extend<caf::reacts_to<restart_atom>>;

template <class Reading>
struct supervisor_config {
  std::string name;  ///< actor label in self-metrics, e.g. `rapl_sampler:package-0`
  /// Spawns (and does not monitor) a fresh child; `generation` counts incarnations.
  std::function<source_actor<Reading>(caf::local_actor* parent, uint64_t generation)> spawn_child;
  std::shared_ptr<actor_stats> stats;
  std::function<double()> random = [] { return std::uniform_real_distribution<>(0, 1)(rng()); };
  /// The degradation ladder's next step (eBPF → procfs): after `failures_before_fallback`
  /// deaths without a good reading in between, children come from here, for good.
  std::function<source_actor<Reading>(caf::local_actor* parent, uint64_t generation)> spawn_fallback;
  uint32_t failures_before_fallback = 3;
  /// A request unanswered this long means the child is stuck; 0 = wait for it forever.
  caf::timespan stuck_after{0};
  /// Stuck children left to finish (or hang) on their own before no more are replaced.
  uint32_t max_stuck_children = 1;

  static std::mt19937& rng() {
    thread_local std::mt19937 engine{std::random_device{}()};
    return engine;
  }
};

template <class Reading>
struct supervisor_state {
  static inline const char* name = "source_supervisor";
  supervisor_config<Reading> config;
  source_actor<Reading> child;
  uint64_t generation = 0;
  bool request_in_flight = false;
  caf::actor_clock::time_point in_flight_since;
  std::unique_ptr<backoff> delay;
  uint32_t failures_since_success = 0;
  std::vector<caf::actor_addr> stuck;  ///< abandoned children whose read has not returned
  bool logged_stuck_limit = false;
};

template <class Reading>
void start_child(typename supervisor_actor<Reading>::template stateful_pointer<supervisor_state<Reading>> self) {
  auto& st = self->state;
  st.child = st.config.spawn_child(self, ++st.generation);
  self->monitor(st.child);
}

/// Abandons a child whose request has been unanswered for `stuck_after` and starts a fresh
/// one, unless `max_stuck_children` are stuck already; true when a fresh child took over.
template <class Reading>
bool replace_stuck_child(
    typename supervisor_actor<Reading>::template stateful_pointer<supervisor_state<Reading>> self) {
  auto& st = self->state;
  auto waited = self->clock().now() - st.in_flight_since;
  if (st.config.stuck_after.count() == 0 || waited < st.config.stuck_after) return false;
  auto waited_ms = std::chrono::duration_cast<std::chrono::milliseconds>(waited).count();
  if (st.stuck.size() >= st.config.max_stuck_children) {
    if (!std::exchange(st.logged_stuck_limit, true))
      spdlog::error("{}: {} reader(s) stuck; starting no more until one returns (this one for {} ms)", st.config.name,
                    st.stuck.size(), waited_ms);
    return false;
  }
  spdlog::warn("{}: a read has not returned for {} ms; leaving it and starting a fresh reader", st.config.name,
               waited_ms);
  st.stuck.push_back(st.child.address());
  // Processed once the read returns: the stuck child then stops by itself.
  self->send_exit(st.child, caf::exit_reason::user_shutdown);
  st.request_in_flight = false;
  if (st.config.stats) st.config.stats->add_restart(st.config.name);
  start_child<Reading>(self);
  return true;
}

template <class Reading>
typename supervisor_actor<Reading>::behavior_type source_supervisor(
    typename supervisor_actor<Reading>::template stateful_pointer<supervisor_state<Reading>> self,
    supervisor_config<Reading> config) {
  using namespace std::chrono_literals;
  self->state.delay = std::make_unique<backoff>(100ms, 30s, config.random);
  self->state.config = std::move(config);
  start_child<Reading>(self);

  self->set_down_handler([=](caf::down_msg& down) {
    auto& st = self->state;
    if (std::erase(st.stuck, down.source) > 0) {  // an abandoned child's read returned at last
      st.logged_stuck_limit = false;
      return;
    }
    if (!st.child || down.source != st.child.address()) return;
    st.child = nullptr;
    st.request_in_flight = false;
    if (st.config.stats) st.config.stats->add_restart(st.config.name);
    if (++st.failures_since_success >= st.config.failures_before_fallback && st.config.spawn_fallback) {
      spdlog::warn("{} failed {} times in a row; falling back for good", st.config.name, st.failures_since_success);
      st.config.spawn_child = std::move(st.config.spawn_fallback);
      st.config.spawn_fallback = nullptr;
    }
    auto wait = st.delay->next();
    spdlog::warn("{} stopped ({}); restarting in {} ms", st.config.name, describe(down.reason), wait.count());
    self->delayed_send(self, wait, restart_atom_v);
  });
  self->set_exit_handler([=](caf::exit_msg& exit) {
    if (self->state.child) self->send_exit(self->state.child, exit.reason);
    self->quit(exit.reason);
  });

  return {
      [=](caf::get_atom) -> caf::result<Reading> {
        auto& st = self->state;
        if (st.config.stats) st.config.stats->set_mailbox_depth(st.config.name + "/supervisor", self->mailbox().size());
        if (!st.child) return to_caf_error(make_error(errc::unavailable, st.config.name + " is restarting"));
        if (st.request_in_flight && !replace_stuck_child<Reading>(self))
          return to_caf_error(make_error(errc::busy, st.config.name + " has not answered its last request"));
        st.request_in_flight = true;
        st.in_flight_since = self->clock().now();
        auto promise = self->template make_response_promise<Reading>();
        // Answers of an abandoned child are passed on but no longer say anything about the
        // current one.
        auto generation = st.generation;
        auto current = [=] { return self->state.generation == generation; };
        self->request(st.child, caf::infinite, caf::get_atom_v)
            .then(
                [=](Reading& reading) mutable {
                  if (current()) {
                    self->state.request_in_flight = false;
                    self->state.failures_since_success = 0;
                    self->state.delay->reset();
                  }
                  promise.deliver(std::move(reading));
                },
                [=](caf::error& err) mutable {
                  if (current()) self->state.request_in_flight = false;
                  promise.deliver(std::move(err));
                });
        return promise;
      },
      [=](restart_atom) {
        if (!self->state.child) start_child<Reading>(self);
      },
  };
}

}  // namespace kepler
