#pragma once
// One round of the attribution engine, apart from its actor: the books it keeps across rounds
// (and across restarts of the actor), what each source's answer does to them, and the
// snapshot a round assembles. The actor only times the round and sends messages.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "attribution/actor_stats.hpp"
#include "attribution/attribution.hpp"
#include "attribution/kube_labels.hpp"
#include "attribution/snapshot.hpp"
#include "base/log_note.hpp"
#include "bpf/probe_health.hpp"
#include "sensors/proc/process_table.hpp"
#include "sensors/proc/self_stats.hpp"

namespace kepler {

/// What a CPU-time source answers: a table of every process's CPU time, when it was taken.
struct cpu_sample {
  std::shared_ptr<const process_table> table;
  int64_t measured_mono_ns = 0;
  int64_t measured_wall_ns = 0;
  std::string source = "procfs";        ///< ebpf or procfs
  std::optional<bpf_probe_health> bpf;  ///< the probe's self-observation in eBPF mode
};

/// How a power source is labelled in self-metrics.
struct source_label {
  std::string source;  ///< rapl, fake-cpu-meter
  std::string zone;    ///< zone label, e.g. package-0
};

/// What the engine accumulates. It outlives the engine actor, so a restarted engine (after a
/// crash) carries on from the same totals and every exported counter stays monotonic.
struct engine_books {
  std::unique_ptr<attribution> math;
  std::vector<source_health> health;  ///< energy sources, then the CPU source
  uint64_t skipped_ticks = 0;
  uint64_t procfs_skipped_total = 0;
  uint64_t procfs_fallback_reads_total = 0;
  std::string cpu_source = "procfs";
  std::optional<bpf_probe_health> bpf;     ///< from the latest CPU sample
  kube_labels kube;                        ///< Kubernetes names, from the latest pod index
  std::optional<kube_health> kube_source;  ///< set once the pod source reported (kube.enabled)
};

/// Fresh books: zero totals, every source down until it answers. With `stats`, bridges across
/// sampler restarts that the math rejects are counted there with the zone's labels.
std::shared_ptr<engine_books> new_engine_books(const std::vector<physical_zone>& zones,
                                               const std::vector<source_label>& energy_sources,
                                               const terminated_policy& terminated,
                                               const std::shared_ptr<actor_stats>& stats);

/// Records a source's answer (`source`: the energy sources' index, or their count for the CPU
/// source): up, or down with `failure` described. A change of state is worth a log line.
std::optional<log_note> record_answer(engine_books& books, std::size_t source, const std::string* failure,
                                      double wall_seconds);

/// Takes a CPU sample's bookkeeping into the books and its table into the round's input.
void record_cpu_sample(engine_books& books, cpu_sample sample, round_input& input);

/// What the round knows besides the readings.
struct round_context {
  const actor_stats* stats = nullptr;     ///< restarts, mailbox depths, rejected readings
  std::optional<self_stats> self;         ///< the exporter's own CPU and memory
  double collection_seconds = 0;          ///< how long the round took
  std::vector<platform_report> platform;  ///< each BMC's state at the round's end
};

/// The snapshot after one round: the math on `input`, with the pipeline's own health.
snapshot_ptr close_round(engine_books& books, const round_input& input, const round_context& context);

}  // namespace kepler
