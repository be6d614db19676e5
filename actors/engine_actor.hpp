#pragma once
// The attribution engine's actor shell: on its own timer it pulls one reading from every
// source (with a deadline), runs the pure attribution, and publishes an immutable snapshot.

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "attribution/actor_stats.hpp"
#include "attribution/attribution.hpp"
#include "attribution/kube_labels.hpp"
#include "actors/messages.hpp"

namespace kepler {

/// A power source and how it is labelled in self-metrics.
struct energy_source {
  energy_source_actor handle;
  std::string source;  ///< rapl, fake-cpu-meter
  std::string zone;    ///< zone label, e.g. package-0
};

/// What the engine accumulates: it outlives the actor, so a restarted engine (after a
/// crash) carries on from the same totals and every exported counter stays monotonic.
struct engine_books {
  std::unique_ptr<attribution> math;
  std::vector<source_health> health;  ///< energy sources, then the CPU source
  uint64_t skipped_ticks = 0;
  uint64_t procfs_skipped_total = 0;
  uint64_t procfs_fallback_reads_total = 0;
  std::string cpu_source = "procfs";
  std::optional<bpf_probe_health> bpf;  ///< from the latest CPU sample
  kube_labels kube;                       ///< Kubernetes names, from the latest pod index
  std::optional<kube_health> kube_source;  ///< set once the pod watcher reported (kube.enabled)
};

struct engine_config {
  std::vector<physical_zone> zones;     ///< same order as `energy_sources`
  std::vector<energy_source> energy_sources;
  cpu_source_actor cpu_source;
  std::vector<caf::actor> sinks;        ///< receive every snapshot_ptr
  caf::timespan interval = std::chrono::seconds(5);
  caf::timespan deadline = std::chrono::seconds(4);  ///< well inside the interval
  terminated_policy terminated;
  std::shared_ptr<actor_stats> stats;
  std::string procfs_root = "/proc";    ///< for the exporter's own process_* metrics
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
caf::behavior attribution_engine(caf::stateful_actor<engine_state>* self, engine_config config);

}  // namespace kepler
