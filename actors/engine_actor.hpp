#pragma once
// The attribution engine's actor shell: on its own timer it pulls one reading from every
// source (with a deadline), runs the pure attribution, and publishes an immutable snapshot.

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "actors/actor_stats.hpp"
#include "actors/attribution.hpp"
#include "actors/messages.hpp"

namespace kepler {

/// A power source and how it is labelled in self-metrics.
struct energy_source {
  energy_source_actor handle;
  std::string source;  ///< rapl, fake-cpu-meter
  std::string zone;    ///< zone label, e.g. package-0
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
};

struct engine_state {
  static inline const char* name = "engine";
  engine_config config;
  std::unique_ptr<attribution> math;
  std::vector<source_health> health;  ///< energy sources, then the CPU source
  caf::actor_clock::time_point next_tick;
  // The open round, if any.
  bool round_open = false;
  std::size_t outstanding = 0;
  round_input input;
  caf::actor_clock::time_point round_started;
  uint64_t skipped_ticks = 0;
  uint64_t procfs_skipped_total = 0;
  uint64_t procfs_fallback_reads_total = 0;
  std::string cpu_source = "procfs";
  std::optional<bpf_probe_health> bpf;  ///< from the latest CPU sample
};

caf::behavior attribution_engine(caf::stateful_actor<engine_state>* self, engine_config config);

}  // namespace kepler
