#pragma once
// Where a node's power goes, in one small structure per snapshot: node power per zone, the
// top workloads of each level, how each number is obtained and how the exporter itself is
// doing. The page at `/` and `/api/v1/summary` (docs/summary-api.md) are made from it.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "attribution/snapshot.hpp"
#include "metrics/power_history.hpp"
#include "sensors/power/power_meter.hpp"

namespace kepler {

/// How one zone's energy is obtained (by zone name, as the snapshot names zones).
struct zone_meter {
  std::string zone;    ///< package, core, dram, ...
  std::string source;  ///< rapl, fake-cpu-meter
  meter_method method = meter_method::counter;
  std::string model;  ///< an estimate's model in words
};

/// Values fixed for the daemon's lifetime that the summary shows beside each snapshot.
struct summary_context {
  std::string node_name;
  std::string version;
  double interval_seconds = 5;
  std::vector<zone_meter> meters;
};

/// The zones of `meter`, one entry per zone name (RAPL sockets share one).
std::vector<zone_meter> provenance_of(const power_meter& meter);

/// One zone now.
struct zone_summary {
  std::string name;
  double watts = 0, active_watts = 0, idle_watts = 0;
  double joules = 0, active_joules = 0;  ///< since start
  std::string source;                    ///< empty when the context does not know the zone
  meter_method method = meter_method::counter;
  std::string model;
};

/// One workload in a top list. What `id`, `name`, `kind`, `pod` and `ns` hold depends on the
/// level (docs/summary-api.md); empty when they do not apply or are unknown.
struct top_entry {
  std::string id;    ///< pid, container id, pod uid, VM id
  std::string name;  ///< comm, container name, pod name, VM name
  std::string kind;  ///< process type, container runtime, hypervisor
  std::string pod;   ///< a container's pod name
  std::string ns;    ///< a pod's or a container's namespace
  double watts = 0;
  double share = 0;   ///< of the ranked zone's active power, 0..1
  double joules = 0;  ///< since start
};

/// The running workloads of one level, the most powerful first.
struct top_list {
  std::vector<top_entry> top;
  std::size_t count = 0;  ///< running workloads of this level
  /// The running workloads not in `top`, together.
  std::size_t others_count = 0;
  double others_watts = 0, others_share = 0;
  /// Active power outside every workload of this level (for processes: unattributed; for
  /// containers: processes outside containers too), so that top + others + outside = 1.
  double outside_watts = 0, outside_share = 0;
};

/// One source as the engine saw it.
struct source_summary {
  std::string source, zone;
  bool up = false;
  uint64_t errors = 0;
  double last_success = 0;  ///< wall clock seconds, 0 = never
};

/// The exporter's own health and cost.
struct exporter_summary {
  std::vector<source_summary> sources;
  uint64_t restarts = 0;                ///< of every actor, since start
  std::vector<actor_health> restarted;  ///< the actors that restarted at least once
  double collection_seconds = 0;        ///< the last round's duration
  std::optional<double> cpu_ratio;      ///< CPU time per wall time over the last interval
  double cpu_seconds = 0;               ///< since start
  uint64_t resident_bytes = 0, open_fds = 0;
  double start_time = 0;    ///< wall clock seconds
  uint64_t http_drops = 0;  ///< connections dropped since start
};

/// The pod source (kube.enabled).
struct pod_source_summary {
  std::string mode;  ///< kubelet or apiserver
  bool up = false;
  uint64_t pods = 0;
  double last_sync = 0;  ///< wall clock seconds of the last successful sync, 0 = never
};

/// Everything the page and the JSON show for one snapshot.
struct summary {
  std::string node_name, version;
  uint64_t sequence = 0;
  double time = 0;  ///< wall clock seconds of the snapshot
  double interval_seconds = 5;
  double usage_ratio = 0;
  std::string ranked_zone;  ///< the zone workloads are ranked and shared by; empty without zones
  std::vector<zone_summary> zones;
  top_list processes, containers, pods, vms;
  std::string cpu_time_source;  ///< ebpf or procfs
  std::string bpf_attach_mode;  ///< tp_btf or raw_tp, with eBPF
  std::optional<pod_source_summary> pod_source;
  exporter_summary exporter;
  history_points history;
};

/// How many workloads of each level the summary lists.
inline constexpr std::size_t summary_top_n = 10;

/// The zone workloads are ranked by: `package` when there is one (it holds the cores), else the
/// first zone; nullopt without zones.
std::optional<std::size_t> ranked_zone_index(const snapshot& snap);

/// The rows of the `n` largest values of zone `zone` in `watts` (row-major, `zones` per row),
/// largest first, ties in row order; NaN ranks last. O(rows · log n).
std::vector<std::size_t> top_rows(const std::vector<double>& watts, std::size_t zones, std::size_t zone, std::size_t n);

/// The summary of `snap`; `history` (may be null) gives the chart and the exporter's CPU up to
/// `mark`, the mark record() gave for `snap`.
summary make_summary(const snapshot& snap, const summary_context& context, const power_history* history = nullptr,
                     uint64_t mark = 0, std::size_t top_n = summary_top_n);

/// `summary` as /api/v1/summary's JSON document (docs/summary-api.md).
std::string summary_json(const summary& summary);

/// Builds one snapshot's summary on first use only, once, for the page and the JSON both;
/// thread-safe. Until then it holds the snapshot (as the metrics document does).
class lazy_summary {
 public:
  lazy_summary(snapshot_ptr snap, std::shared_ptr<const summary_context> context,
               std::shared_ptr<const power_history> history, uint64_t mark);
  const summary& get() const;

 private:
  mutable std::once_flag once_;
  mutable snapshot_ptr snap_;  // released once the summary is made
  std::shared_ptr<const summary_context> context_;
  std::shared_ptr<const power_history> history_;
  uint64_t mark_;
  mutable summary summary_;
};

}  // namespace kepler
