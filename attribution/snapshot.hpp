#pragma once
// The immutable result of one attribution interval, shared with every exporter.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "bpf/probe_health.hpp"
#include "k8s/pod_index.hpp"
#include "k8s/pod_informer.hpp"
#include "sensors/platform/platform_feed.hpp"
#include "sensors/proc/process_table.hpp"
#include "sensors/proc/self_stats.hpp"

namespace kepler {

/// Node-level energy of one zone (RAPL sockets summed), totals since start.
struct node_zone_stats {
  std::string name;  ///< package, core, dram, ...
  std::string path;  ///< the zone directory, or `aggregated-<name>` for several sockets
  uint64_t total_uj = 0, active_uj = 0, idle_uj = 0;
  /// Active energy no live process accounts for (exited between scans, interrupts).
  uint64_t unattributed_uj = 0;
  double watts = 0, active_watts = 0, idle_watts = 0, unattributed_watts = 0;
  /// active − (running + terminated + retired workloads + unattributed); 0 unless a bug.
  int64_t conservation_error_uj = 0;
  /// Active energy outside every container: non-container processes plus unattributed.
  uint64_t outside_containers_uj = 0;
  bool platform = false;  ///< the whole node's power (physical_zone::platform), not a CPU zone
};

/// One physical zone (one socket's package, core, ...), docs/compatibility.md difference #18.
struct socket_zone_stats {
  std::string name;
  int index = 0;
  std::string path;
  uint64_t total_uj = 0;
  double watts = 0;
  bool platform = false;  ///< the whole node's power, not a CPU zone
};

/// A process as exported; its per-zone values live in the snapshot's flat arrays.
struct process_row {
  process_key key;
  std::shared_ptr<const process_info> info;
  uint64_t cpu_ns = 0;                ///< lifetime CPU time
  uint64_t window_cpu_ns = 0;         ///< CPU time in the last window
  int64_t terminated_at_mono_ns = 0;  ///< 0 while running
};

/// A workload that groups processes (a container, a VM or a pod); labels come from the first
/// process seen in it.
struct workload_row {
  std::shared_ptr<const process_info> info;
  /// Its container, VM or pod id, inside `info` (no copy of a 64-character id per snapshot).
  const std::string* id_in_info = nullptr;
  uint64_t cpu_ns = 0;                ///< Σ CPU time of its processes while observed
  int64_t terminated_at_mono_ns = 0;  ///< 0 while running

  const std::string& id() const { return *id_in_info; }
};

/// Running and terminated workloads of one level; zone values row-major as for processes.
struct workload_table {
  std::vector<workload_row> running;
  std::vector<uint64_t> running_energy_uj;
  std::vector<double> running_watts;
  std::vector<workload_row> terminated;
  std::vector<uint64_t> terminated_energy_uj;
};

/// Per-process series under exporter.prometheus.maxProcessSeries (attribution/process_series_cap.hpp):
/// the processes that have their own series, and the rest summed per container.
struct capped_process_series {
  /// The rest of one container's processes; container_id "" holds those outside containers.
  struct others_row {
    std::string container_id;
    bool terminated = false;  ///< its container ended (kept as long as the container is exported)
    uint64_t cpu_ns = 0;      ///< CPU time of its processes while they were not among the top N
  };
  std::vector<process_row> running;         ///< the top N of the last window; cpu_ns: while among them
  std::vector<uint64_t> running_energy_uj;  ///< energy while among the top N, row-major by zone
  std::vector<double> running_watts;
  std::vector<process_row> terminated;  ///< ended processes that had their own series at some time
  std::vector<uint64_t> terminated_energy_uj;
  std::vector<others_row> others;
  std::vector<uint64_t> others_energy_uj;
  std::vector<double> others_watts;
};

/// Health of one source as the engine saw it.
struct source_health {
  std::string source;  ///< rapl, fake-cpu-meter, procfs
  std::string zone;    ///< zone id, empty for CPU-time sources
  bool up = false;
  uint64_t errors = 0;
  double last_success_seconds = 0;  ///< wall clock, 0 = never
};

/// Readings of one source's zone rejected for one reason (sensors/power/energy_counter.hpp).
struct rejected_readings {
  std::string source;  ///< rapl, fake-cpu-meter
  std::string zone;    ///< zone label, as in source_health
  std::string reason;  ///< out_of_range, reset, implausible
  uint64_t count = 0;
};

/// Kubernetes names of the snapshot's containers and pods (kube.enabled), kept after a pod
/// leaves the pod list so a terminated workload keeps its labels.
struct kube_names {
  std::unordered_map<std::string, pod_ref> by_container;  ///< container id → pod and container name
  std::unordered_map<std::string, pod_ref> by_pod;        ///< pod uid → pod name and namespace

  const pod_ref* container(const std::string& id) const {
    auto found = by_container.find(id);
    return found == by_container.end() ? nullptr : &found->second;
  }
  const pod_ref* pod(const std::string& uid) const {
    auto found = by_pod.find(uid);
    return found == by_pod.end() ? nullptr : &found->second;
  }
};

/// Connections the metrics server dropped (or requests it lost) for one reason.
struct http_drop_count {
  std::string reason;  ///< http/connection_drops.hpp's texts
  uint64_t count = 0;
};

/// Self-observation of one actor.
struct actor_health {
  std::string actor;
  uint64_t restarts = 0;
  uint64_t mailbox_depth = 0;
};

/// Everything one interval produced. Per-process zone values are row-major:
/// `running_energy_uj[i * zones.size() + z]`.
struct snapshot {
  uint64_t sequence = 0;
  int64_t wall_ns = 0;
  int64_t mono_ns = 0;
  double usage_ratio = 0;
  std::vector<node_zone_stats> zones;
  std::vector<socket_zone_stats> sockets;
  std::vector<process_row> running;
  std::vector<uint64_t> running_energy_uj;
  std::vector<double> running_watts;
  std::vector<process_row> terminated;
  std::vector<uint64_t> terminated_energy_uj;
  workload_table containers;
  /// Set when exporter.prometheus.maxProcessSeries caps the process series: the renderer
  /// exports these instead of `running` and `terminated` (which stay complete for the rest).
  std::optional<capped_process_series> capped_processes;
  workload_table vms;
  workload_table pods;                     ///< by the pod UID of the containers' cgroups
  std::shared_ptr<const kube_names> kube;  ///< null unless kube.enabled
  std::optional<kube_health> kube_source;  ///< set while kube.enabled
  // Filled by the engine actor: how the pipeline itself is doing.
  std::vector<source_health> sources;
  std::vector<actor_health> actors;
  std::vector<rejected_readings> rejected;
  std::vector<http_drop_count> http_drops;
  double collection_seconds = 0;
  std::string cpu_source = "procfs";         ///< where CPU time came from: ebpf or procfs
  std::optional<bpf_probe_health> bpf;       ///< set while eBPF is the CPU-time source
  uint64_t procfs_skipped_total = 0;         ///< processes a scan could not read
  uint64_t procfs_fallback_reads_total = 0;  ///< stat reads without a kept file (fd cap reached)
  std::vector<platform_report> platform;     ///< each BMC's latest readings and faults
  self_stats self;
};

using snapshot_ptr = std::shared_ptr<const snapshot>;

}  // namespace kepler
