#include "metrics/summary.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace kepler {
namespace {

constexpr double uj_per_joule = 1e6;

/// The value a row ranks by: NaN ranks below everything.
double rank_value(double watts) { return std::isnan(watts) ? -std::numeric_limits<double>::infinity() : watts; }

/// Active power of the ranked zone, by which every share is divided (0: no shares).
double share_of(double watts, double active_watts) { return active_watts > 0 ? watts / active_watts : 0.0; }

/// The parts of a top list that do not depend on the level: watts, shares, joules, the rest;
/// `rows` tells which row each entry came from, for the level to name it.
top_list rank(const std::vector<double>& watts, const std::vector<uint64_t>& energy_uj, std::size_t zones,
              std::size_t zone, double active_watts, std::size_t top_n, std::vector<std::size_t>& rows) {
  top_list list;
  list.count = zones ? watts.size() / zones : 0;
  double all_watts = 0;
  for (std::size_t row = 0; row < list.count; ++row) all_watts += std::max(0.0, rank_value(watts[row * zones + zone]));
  double top_watts = 0;
  rows = top_rows(watts, zones, zone, top_n);
  for (std::size_t row : rows) {
    top_entry entry;
    entry.watts = watts[row * zones + zone];
    entry.share = share_of(entry.watts, active_watts);
    entry.joules = static_cast<double>(energy_uj[row * zones + zone]) / uj_per_joule;
    top_watts += std::max(0.0, rank_value(entry.watts));
    list.top.push_back(std::move(entry));
  }
  list.others_count = list.count - list.top.size();
  list.others_watts = std::max(0.0, all_watts - top_watts);
  list.others_share = share_of(list.others_watts, active_watts);
  list.outside_watts = std::max(0.0, active_watts - all_watts);
  list.outside_share = share_of(list.outside_watts, active_watts);
  return list;
}

void name_processes(top_list& list, const std::vector<std::size_t>& rows, const snapshot& snap) {
  for (std::size_t i = 0; i < rows.size(); ++i) {
    auto& entry = list.top[i];
    const auto& row = snap.running[rows[i]];
    entry.id = std::to_string(row.key.pid);
    if (!row.info) continue;
    entry.name = row.info->comm;
    entry.kind = to_string(row.info->type);
    if (const pod_ref* ref = snap.kube ? snap.kube->container(row.info->container_id) : nullptr) {
      entry.pod = ref->pod_name;
      entry.ns = ref->pod_namespace;
    }
  }
}

void name_containers(top_list& list, const std::vector<std::size_t>& rows, const snapshot& snap) {
  for (std::size_t i = 0; i < rows.size(); ++i) {
    auto& entry = list.top[i];
    const auto& row = snap.containers.running[rows[i]];
    entry.id = row.id();
    entry.name = row.info->container_name;
    entry.kind = row.info->runtime;
    if (const pod_ref* ref = snap.kube ? snap.kube->container(row.id()) : nullptr) {
      entry.name = ref->container_name;
      entry.pod = ref->pod_name;
      entry.ns = ref->pod_namespace;
    }
  }
}

void name_pods(top_list& list, const std::vector<std::size_t>& rows, const snapshot& snap) {
  for (std::size_t i = 0; i < rows.size(); ++i) {
    auto& entry = list.top[i];
    const auto& row = snap.pods.running[rows[i]];
    entry.id = row.id();
    if (const pod_ref* ref = snap.kube ? snap.kube->pod(row.id()) : nullptr) {
      entry.name = ref->pod_name;
      entry.ns = ref->pod_namespace;
    }
  }
}

void name_vms(top_list& list, const std::vector<std::size_t>& rows, const snapshot& snap) {
  for (std::size_t i = 0; i < rows.size(); ++i) {
    auto& entry = list.top[i];
    const auto& row = snap.vms.running[rows[i]];
    entry.id = row.id();
    entry.name = row.info->vm_name;
    entry.kind = row.info->hypervisor;
  }
}

std::vector<zone_summary> zones_of(const snapshot& snap, const summary_context& context) {
  std::vector<zone_summary> zones;
  for (const auto& node : snap.zones) {
    zone_summary zone;
    zone.name = node.name;
    zone.watts = node.watts;
    zone.active_watts = node.active_watts;
    zone.idle_watts = node.idle_watts;
    zone.joules = static_cast<double>(node.total_uj) / uj_per_joule;
    zone.active_joules = static_cast<double>(node.active_uj) / uj_per_joule;
    auto meter = std::find_if(context.meters.begin(), context.meters.end(),
                              [&](const zone_meter& p) { return p.zone == node.name; });
    if (meter != context.meters.end()) {
      zone.source = meter->source;
      zone.method = meter->method;
      zone.model = meter->model;
    }
    zones.push_back(std::move(zone));
  }
  return zones;
}

exporter_summary exporter_of(const snapshot& snap, const power_history* history, uint64_t mark) {
  exporter_summary out;
  for (const auto& source : snap.sources)
    out.sources.push_back({source.source, source.zone, source.up, source.errors, source.last_success_seconds});
  for (const auto& actor : snap.actors) {
    out.restarts += actor.restarts;
    if (actor.restarts > 0) out.restarted.push_back(actor);
  }
  out.collection_seconds = snap.collection_seconds;
  if (history) out.cpu_ratio = history->cpu_ratio(mark);
  out.cpu_seconds = snap.self.cpu_seconds;
  out.resident_bytes = snap.self.resident_bytes;
  out.open_fds = snap.self.open_fds;
  out.start_time = snap.self.start_time_seconds;
  for (const auto& drops : snap.http_drops) out.http_drops += drops.count;
  return out;
}

}  // namespace

std::vector<zone_meter> provenance_of(const power_meter& meter) {
  std::vector<zone_meter> out;
  for (const auto& zone : meter.zones) {
    const bool known = std::any_of(out.begin(), out.end(), [&](const auto& p) { return p.zone == zone.zone.name; });
    if (known) continue;
    const auto& how = zone.provenance;
    std::string model = how.parameters.empty() ? how.model : how.model + " (" + how.parameters + ")";
    out.push_back({zone.zone.name, meter.source, how.method, std::move(model)});
  }
  return out;
}

std::optional<std::size_t> ranked_zone_index(const snapshot& snap) {
  if (snap.zones.empty()) return std::nullopt;
  for (std::size_t z = 0; z < snap.zones.size(); ++z)
    if (snap.zones[z].name == "package") return z;
  return 0;
}

std::vector<std::size_t> top_rows(const std::vector<double>& watts, std::size_t zones, std::size_t zone,
                                  std::size_t n) {
  std::vector<std::size_t> kept;
  if (zones == 0 || zone >= zones || n == 0) return kept;
  const std::size_t rows = watts.size() / zones;
  const auto value = [&](std::size_t row) { return rank_value(watts[row * zones + zone]); };
  // Whether row a ranks before row b: more watts, or as many and earlier.
  const auto before = [&](std::size_t a, std::size_t b) {
    return value(a) > value(b) || (value(a) == value(b) && a < b);
  };
  // A heap of the best n so far whose top is the worst of them: one comparison per row.
  kept.reserve(std::min(n, rows) + 1);
  for (std::size_t row = 0; row < rows; ++row) {
    if (kept.size() < n) {
      kept.push_back(row);
      std::push_heap(kept.begin(), kept.end(), before);
    } else if (before(row, kept.front())) {
      std::pop_heap(kept.begin(), kept.end(), before);
      kept.back() = row;
      std::push_heap(kept.begin(), kept.end(), before);
    }
  }
  std::sort_heap(kept.begin(), kept.end(), before);
  return kept;
}

summary make_summary(const snapshot& snap, const summary_context& context, const power_history* history, uint64_t mark,
                     std::size_t top_n) {
  summary out;
  out.node_name = context.node_name;
  out.version = context.version;
  out.sequence = snap.sequence;
  out.time = wall_seconds(snap.wall_ns);
  out.interval_seconds = context.interval_seconds;
  out.usage_ratio = snap.usage_ratio;
  out.zones = zones_of(snap, context);
  if (auto ranked = ranked_zone_index(snap)) {
    const std::size_t zones = snap.zones.size(), z = *ranked;
    const double active = snap.zones[z].active_watts;
    out.ranked_zone = snap.zones[z].name;
    std::vector<std::size_t> rows;
    out.processes = rank(snap.running_watts, snap.running_energy_uj, zones, z, active, top_n, rows);
    name_processes(out.processes, rows, snap);
    const auto& containers = snap.containers;
    out.containers = rank(containers.running_watts, containers.running_energy_uj, zones, z, active, top_n, rows);
    name_containers(out.containers, rows, snap);
    out.pods = rank(snap.pods.running_watts, snap.pods.running_energy_uj, zones, z, active, top_n, rows);
    name_pods(out.pods, rows, snap);
    out.vms = rank(snap.vms.running_watts, snap.vms.running_energy_uj, zones, z, active, top_n, rows);
    name_vms(out.vms, rows, snap);
  } else {
    // No meter: nothing to rank by, but the workloads still run.
    for (auto [list, count] :
         {std::pair{&out.processes, snap.running.size()}, std::pair{&out.containers, snap.containers.running.size()},
          std::pair{&out.pods, snap.pods.running.size()}, std::pair{&out.vms, snap.vms.running.size()}})
      list->count = list->others_count = count;
  }
  out.cpu_time_source = snap.cpu_source;
  if (snap.bpf) out.bpf_attach_mode = snap.bpf->attach_mode;
  if (snap.kube_source)
    out.pod_source = pod_source_summary{snap.kube_source->mode, snap.kube_source->up, snap.kube_source->pods,
                                        snap.kube_source->last_success_seconds};
  out.exporter = exporter_of(snap, history, mark);
  if (history) out.history = history->until(mark);
  return out;
}

lazy_summary::lazy_summary(snapshot_ptr snap, std::shared_ptr<const summary_context> context,
                           std::shared_ptr<const power_history> history, uint64_t mark)
    : snap_(std::move(snap)), context_(std::move(context)), history_(std::move(history)), mark_(mark) {}

const summary& lazy_summary::get() const {
  std::call_once(once_, [this] {
    summary_ = make_summary(*snap_, *context_, history_.get(), mark_);
    snap_.reset();
  });
  return summary_;
}

}  // namespace kepler
