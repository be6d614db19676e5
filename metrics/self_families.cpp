// Self-metrics: source health, actors, collection cost and the exporter's own process.

#include <algorithm>

#include "metrics/families.hpp"

namespace kepler {

void render_health(exposition_writer& out, const snapshot& snap) {
  out.family("kepler_source_up", "Whether the source answered its last request (1) or not (0)", metric_type::gauge);
  for (const auto& s : snap.sources)
    out.sample("kepler_source_up", {{"source", s.source}, {"zone", s.zone}}, s.up ? 1 : 0);
  out.family("kepler_source_errors_total", "Failed or late requests to a source", metric_type::counter);
  for (const auto& s : snap.sources)
    out.sample("kepler_source_errors_total", {{"source", s.source}, {"zone", s.zone}}, static_cast<double>(s.errors));
  out.family("kepler_source_last_success_timestamp_seconds", "When the source last answered, in Unix seconds",
             metric_type::gauge);
  for (const auto& s : snap.sources)
    out.sample("kepler_source_last_success_timestamp_seconds", {{"source", s.source}, {"zone", s.zone}},
               s.last_success_seconds);
  out.family("kepler_source_rejected_readings_total",
             "Readings of a zone rejected, by reason: above its range, a reset, or more than its "
             "maximum plausible power; their energy is not counted",
             metric_type::counter);
  for (const auto& r : snap.rejected)
    out.sample("kepler_source_rejected_readings_total", {{"source", r.source}, {"zone", r.zone}, {"reason", r.reason}},
               static_cast<double>(r.count));
  out.family("kepler_actor_restarts_total", "Restarts of an actor after it failed", metric_type::counter);
  for (const auto& a : snap.actors)
    out.sample("kepler_actor_restarts_total", {{"actor", a.actor}}, static_cast<double>(a.restarts));
  out.family("kepler_actor_mailbox_depth", "Messages waiting in an actor's mailbox", metric_type::gauge);
  for (const auto& a : snap.actors)
    out.sample("kepler_actor_mailbox_depth", {{"actor", a.actor}}, static_cast<double>(a.mailbox_depth));
  if (!snap.http_drops.empty()) {
    out.family("kepler_http_dropped_connections_total",
               "Connections the metrics server dropped, or requests it lost, by reason", metric_type::counter);
    for (const auto& d : snap.http_drops)
      out.sample("kepler_http_dropped_connections_total", {{"reason", d.reason}}, static_cast<double>(d.count));
  }
  out.family("kepler_collection_duration_seconds", "Time from the start of an interval to its snapshot",
             metric_type::gauge);
  out.sample("kepler_collection_duration_seconds", {}, snap.collection_seconds);
  out.family("kepler_procfs_skipped_processes_total", "Processes a /proc scan could not read", metric_type::counter);
  out.sample("kepler_procfs_skipped_processes_total", {}, static_cast<double>(snap.procfs_skipped_total));
  out.family("kepler_procfs_fallback_reads_total",
             "Stat reads that reopened the file because the open-file cap was reached", metric_type::counter);
  out.sample("kepler_procfs_fallback_reads_total", {}, static_cast<double>(snap.procfs_fallback_reads_total));
  out.family("kepler_energy_conservation_error_joules",
             "Active energy minus everything it was attributed to; anything but 0 is a bug", metric_type::gauge);
  for (const auto& zone : snap.zones)
    out.sample("kepler_energy_conservation_error_joules", {{"zone", zone.name}},
               static_cast<double>(zone.conservation_error_uj) * uj_to_joules);
}

void render_bpf(exposition_writer& out, const snapshot& snap) {
  out.family("kepler_bpf_up", "Whether CPU time comes from the eBPF probe (1) or from /proc (0)", metric_type::gauge);
  out.sample("kepler_bpf_up", {}, snap.bpf ? 1 : 0);
  if (!snap.bpf) return;
  const auto& bpf = *snap.bpf;
  if (bpf.run_stats) {  // without the kernel's run-time statistics these would read 0
    out.family("kepler_bpf_program_runs_total", "Runs of the eBPF CPU-time programs", metric_type::counter);
    out.sample("kepler_bpf_program_runs_total", {{"attach", bpf.attach_mode}}, static_cast<double>(bpf.program_runs));
    out.family("kepler_bpf_program_run_seconds_total", "Time spent in the eBPF CPU-time programs",
               metric_type::counter);
    out.sample("kepler_bpf_program_run_seconds_total", {{"attach", bpf.attach_mode}},
               static_cast<double>(bpf.program_run_ns) / 1e9);
  }
  out.family("kepler_bpf_map_entries", "Entries in an eBPF map", metric_type::gauge);
  for (const auto& map : bpf.maps)
    out.sample("kepler_bpf_map_entries", {{"map", map.map}}, static_cast<double>(map.entries));
  out.family("kepler_bpf_map_capacity", "Maximum entries of an eBPF map", metric_type::gauge);
  for (const auto& map : bpf.maps)
    out.sample("kepler_bpf_map_capacity", {{"map", map.map}}, static_cast<double>(map.capacity));
  out.family("kepler_bpf_dropped_total", "Entries or events the eBPF probe could not store", metric_type::counter);
  for (const auto& drop : bpf.drops)
    out.sample("kepler_bpf_dropped_total", {{"kind", drop.kind}}, static_cast<double>(drop.count));
}

void render_self(exposition_writer& out, const self_stats& self) {
  out.family("process_cpu_seconds_total", "Total user and system CPU time spent in seconds", metric_type::counter);
  out.sample("process_cpu_seconds_total", {}, self.cpu_seconds);
  out.family("process_resident_memory_bytes", "Resident memory size in bytes", metric_type::gauge);
  out.sample("process_resident_memory_bytes", {}, static_cast<double>(self.resident_bytes));
  out.family("process_open_fds", "Number of open file descriptors", metric_type::gauge);
  out.sample("process_open_fds", {}, static_cast<double>(self.open_fds));
  out.family("process_start_time_seconds", "Start time of the process since unix epoch in seconds", metric_type::gauge);
  out.sample("process_start_time_seconds", {}, self.start_time_seconds);
}

void render_kube(exposition_writer& out, const snapshot& snap) {
  if (!snap.kube_source) return;
  const auto& kube = *snap.kube_source;
  out.family("kepler_kube_up", "Whether the last pod list sync succeeded (1) or not (0)", metric_type::gauge);
  out.sample("kepler_kube_up", {{"mode", kube.mode}}, kube.up ? 1 : 0);
  out.family("kepler_kube_pods", "Pods on this node in the pod index in use", metric_type::gauge);
  out.sample("kepler_kube_pods", {{"mode", kube.mode}}, static_cast<double>(kube.pods));
  out.family("kepler_kube_last_sync_timestamp_seconds", "When the pod list was last synced, in Unix seconds",
             metric_type::gauge);
  out.sample("kepler_kube_last_sync_timestamp_seconds", {{"mode", kube.mode}}, kube.last_success_seconds);
  out.family("kepler_kube_sync_age_seconds", "Age of the pod index in use at this snapshot (0 = never synced)",
             metric_type::gauge);
  double age = kube.last_success_seconds > 0 ? static_cast<double>(snap.wall_ns) / 1e9 - kube.last_success_seconds : 0;
  out.sample("kepler_kube_sync_age_seconds", {{"mode", kube.mode}}, std::max(age, 0.0));
  out.family("kepler_kube_errors_total", "Failed pod list syncs, by kind", metric_type::counter);
  for (const auto& error : kube.errors)
    out.sample("kepler_kube_errors_total", {{"mode", kube.mode}, {"kind", error.kind}},
               static_cast<double>(error.count));
}

}  // namespace kepler
