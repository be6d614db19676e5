#pragma once
// The attribution engine's actor shell: on its own timer it pulls one reading from every
// source (with a deadline), closes the round (attribution/engine_round) and publishes the
// immutable snapshot to every sink.

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "actors/messages.hpp"
#include "attribution/actor_stats.hpp"
#include "attribution/engine_round.hpp"

namespace kepler {

/// A power source and how it is labelled in self-metrics.
struct energy_source {
  energy_source_actor handle;
  std::string source;  ///< rapl, fake-cpu-meter
  std::string zone;    ///< zone label, e.g. package-0
};

struct engine_config {
  std::vector<physical_zone> zones;  ///< same order as `energy_sources`
  std::vector<energy_source> energy_sources;
  cpu_source_actor cpu_source;
  std::vector<snapshot_sink> sinks;  ///< receive every snapshot
  caf::timespan interval = std::chrono::seconds(5);
  caf::timespan deadline = std::chrono::seconds(4);  ///< well inside the interval
  terminated_policy terminated;
  std::size_t max_process_series = 0;  ///< exporter.prometheus.maxProcessSeries; 0 = no cap
  std::shared_ptr<actor_stats> stats;
  std::string procfs_root = "/proc";  ///< for the exporter's own process_* metrics
  /// The BMCs' state, read at the end of every round (written by their pollers).
  std::vector<std::shared_ptr<platform_feed>> platform_feeds;
  /// Shared with the engine's previous incarnations; created on first start when null.
  std::shared_ptr<engine_books> books;
  /// Called with each round's input before the math runs (tests slow or fail the engine here).
  std::function<void(const round_input&)> before_math;
};

struct engine_state {
  static inline const char* name = "engine";
  engine_config config;
  engine_books* books = nullptr;  ///< owned by `config.books`
  caf::actor_clock::time_point next_tick;
  // The open round, if any.
  bool round_open = false;
  std::size_t outstanding = 0;
  round_input input;
  caf::actor_clock::time_point round_started;
};

/// Fresh books for `config`: zero totals, every source down until it answers.
std::shared_ptr<engine_books> new_engine_books(const engine_config& config);

/// The engine; uses `config.books` (creating them when null), so a respawn keeps the totals.
engine_actor::behavior_type attribution_engine(engine_actor::stateful_pointer<engine_state> self, engine_config config);

}  // namespace kepler
