#include "metrics/renderer.hpp"

#include <algorithm>
#include <array>
#include <charconv>
#include <unordered_set>

#include "config/config.hpp"
#include "metrics/families.hpp"

namespace kepler {
namespace {

void render_node(exposition_writer& out, const snapshot& snap, const render_context& ctx) {
  out.family("kepler_node_cpu_usage_ratio", "CPU usage ratio of a node (value between 0.0 and 1.0)",
             metric_type::gauge);
  out.sample("kepler_node_cpu_usage_ratio", {{"node_name", ctx.node_name}}, snap.usage_ratio);

  struct node_family {
    const char* name;
    const char* help;
    metric_type type;
    double (*value)(const node_zone_stats&);
  };
  static const node_family families[] = {
      {"kepler_node_cpu_joules_total", "Energy consumption of cpu at node level in joules", metric_type::counter,
       [](const node_zone_stats& z) { return z.total_uj * uj_to_joules; }},
      {"kepler_node_cpu_active_joules_total", "Energy consumption of cpu in active state at node level in joules",
       metric_type::counter, [](const node_zone_stats& z) { return z.active_uj * uj_to_joules; }},
      {"kepler_node_cpu_idle_joules_total", "Energy consumption of cpu in idle state at node level in joules",
       metric_type::counter, [](const node_zone_stats& z) { return z.idle_uj * uj_to_joules; }},
      {"kepler_node_cpu_watts", "Power consumption of cpu at node level in watts", metric_type::gauge,
       [](const node_zone_stats& z) { return z.watts; }},
      {"kepler_node_cpu_active_watts", "Power consumption of cpu in active state at node level in watts",
       metric_type::gauge, [](const node_zone_stats& z) { return z.active_watts; }},
      {"kepler_node_cpu_idle_watts", "Power consumption of cpu in idle state at node level in watts",
       metric_type::gauge, [](const node_zone_stats& z) { return z.idle_watts; }},
      {"kepler_node_cpu_unattributed_joules_total",
       "Active energy of cpu at node level that no running process accounts for, in joules", metric_type::counter,
       [](const node_zone_stats& z) { return z.unattributed_uj * uj_to_joules; }},
      {"kepler_node_cpu_unattributed_watts",
       "Active power of cpu at node level that no running process accounts for, in watts", metric_type::gauge,
       [](const node_zone_stats& z) { return z.unattributed_watts; }},
  };
  for (const auto& family : families) {
    out.family(family.name, family.help, family.type);
    for (const auto& zone : snap.zones)
      if (!zone.platform)
        out.sample(family.name, {{"zone", zone.name}, {"path", zone.path}, {"node_name", ctx.node_name}},
                   family.value(zone));
  }

  out.family("kepler_node_cpu_socket_joules_total", "Energy consumption of cpu per socket zone at node level in joules",
             metric_type::counter);
  for (const auto& zone : snap.sockets) {
    if (zone.platform) continue;
    number_text socket(zone.index);
    out.sample("kepler_node_cpu_socket_joules_total",
               {{"zone", zone.name}, {"socket", socket.view()}, {"path", zone.path}, {"node_name", ctx.node_name}},
               zone.total_uj * uj_to_joules);
  }
  out.family("kepler_node_cpu_socket_watts", "Power consumption of cpu per socket zone at node level in watts",
             metric_type::gauge);
  for (const auto& zone : snap.sockets) {
    if (zone.platform) continue;
    number_text socket(zone.index);
    out.sample("kepler_node_cpu_socket_watts",
               {{"zone", zone.name}, {"socket", socket.view()}, {"path", zone.path}, {"node_name", ctx.node_name}},
               zone.watts);
  }
}

/// The process series to export: every process, or those that exporter.prometheus.maxProcessSeries
/// keeps (then with one "others" series per container besides).
struct process_series {
  const std::vector<process_row>& running;
  const std::vector<uint64_t>& running_energy_uj;
  const std::vector<double>& running_watts;
  const std::vector<process_row>& terminated;
  const std::vector<uint64_t>& terminated_energy_uj;
  const capped_process_series* capped = nullptr;
};

process_series series_of(const snapshot& snap) {
  if (const auto& capped = snap.capped_processes)
    return {capped->running,    capped->running_energy_uj,    capped->running_watts,
            capped->terminated, capped->terminated_energy_uj, &*capped};
  return {snap.running, snap.running_energy_uj, snap.running_watts, snap.terminated, snap.terminated_energy_uj};
}

/// Terminated rows to export: the newest entry per pid, so pid reuse never yields duplicates.
std::vector<std::size_t> exported_terminated(const process_series& series) {
  std::unordered_set<int32_t> seen;
  for (const auto& row : series.running) seen.insert(row.key.pid);
  std::vector<std::size_t> rows;
  for (std::size_t i = series.terminated.size(); i-- > 0;)
    if (seen.insert(series.terminated[i].key.pid).second) rows.push_back(i);
  return rows;
}

/// The labels of an others series: no pid, comm "others", the container's id and type.
std::array<label, 9> others_labels(const capped_process_series::others_row& row, std::string_view state,
                                   std::string_view zone, const render_context& ctx) {
  std::string_view type = to_string(row.container_id.empty() ? process_type::regular : process_type::container);
  return {{{"pid", ""},
           {"comm", "others"},
           {"exe", ""},
           {"type", type},
           {"state", state},
           {"container_id", row.container_id},
           {"vm_id", ""},
           {"zone", zone},
           {"node_name", ctx.node_name}}};
}

void render_others_energy(exposition_writer& out, const std::string& name, const capped_process_series& capped,
                          const snapshot& snap, const render_context& ctx, bool watts, bool platform) {
  std::size_t zones = snap.zones.size();
  for (std::size_t i = 0; i < capped.others.size(); ++i) {
    const auto& row = capped.others[i];
    for (std::size_t z = 0; z < zones; ++z) {
      if (snap.zones[z].platform != platform) continue;
      double value = watts ? capped.others_watts[i * zones + z] : capped.others_energy_uj[i * zones + z] * uj_to_joules;
      out.sample(name, others_labels(row, row.terminated ? "terminated" : "running", snap.zones[z].name, ctx), value);
    }
  }
}

/// kepler_process_cpu_* (the CPU zones), or kepler_process_platform_* (the platform zone).
void render_process_energy(exposition_writer& out, const snapshot& snap, const render_context& ctx, bool watts,
                           bool platform = false) {
  const std::string domain = platform ? "platform" : "cpu";
  const std::string name = "kepler_process_" + domain + (watts ? "_watts" : "_joules_total");
  out.family(name,
             watts ? "Power consumption of " + domain + " at process level in watts"
                   : "Energy consumption of " + domain + " at process level in joules",
             watts ? metric_type::gauge : metric_type::counter);
  std::size_t zones = snap.zones.size();
  auto series = series_of(snap);
  auto emit = [&](const process_row& row, std::string_view state, double value, std::size_t z) {
    if (snap.zones[z].platform != platform) return;
    number_text pid(row.key.pid);
    const auto& info = *row.info;
    std::array<label, 9> labels{{{"pid", pid.view()},
                                 {"comm", info.comm},
                                 {"exe", info.exe},
                                 {"type", to_string(info.type)},
                                 {"state", state},
                                 {"container_id", info.container_id},
                                 {"vm_id", info.vm_id},
                                 {"zone", snap.zones[z].name},
                                 {"node_name", ctx.node_name}}};
    out.sample(name, labels, value);
  };
  for (std::size_t i = 0; i < series.running.size(); ++i)
    for (std::size_t z = 0; z < zones; ++z)
      emit(series.running[i], "running",
           watts ? series.running_watts[i * zones + z] : series.running_energy_uj[i * zones + z] * uj_to_joules, z);
  for (std::size_t i : exported_terminated(series))
    for (std::size_t z = 0; z < zones; ++z)
      emit(series.terminated[i], "terminated", watts ? 0.0 : series.terminated_energy_uj[i * zones + z] * uj_to_joules,
           z);
  if (series.capped) render_others_energy(out, name, *series.capped, snap, ctx, watts, platform);
}

void render_process_seconds(exposition_writer& out, const snapshot& snap, const render_context& ctx) {
  out.family("kepler_process_cpu_seconds_total", "Total user and system time of cpu at process level in seconds",
             metric_type::counter);
  auto series = series_of(snap);
  for (const auto& row : series.running) {
    number_text pid(row.key.pid);
    const auto& info = *row.info;
    std::array<label, 7> labels{{{"pid", pid.view()},
                                 {"comm", info.comm},
                                 {"exe", info.exe},
                                 {"type", to_string(info.type)},
                                 {"container_id", info.container_id},
                                 {"vm_id", info.vm_id},
                                 {"node_name", ctx.node_name}}};
    out.sample("kepler_process_cpu_seconds_total", labels, static_cast<double>(row.cpu_ns) / 1e9);
  }
  if (!series.capped) return;
  for (const auto& row : series.capped->others) {
    auto all = others_labels(row, "", "", ctx);
    // This family has neither state nor zone.
    std::array<label, 7> labels{{all[0], all[1], all[2], all[3], all[5], all[6], all[8]}};
    out.sample("kepler_process_cpu_seconds_total", labels, static_cast<double>(row.cpu_ns) / 1e9);
  }
}

void render_info(exposition_writer& out, const render_context& ctx) {
  out.family("kepler_build_info", "A metric with a constant '1' value labeled with version information",
             metric_type::gauge);
  out.sample("kepler_build_info",
             {{"arch", ctx.arch},
              {"branch", ctx.branch},
              {"revision", ctx.revision},
              {"version", ctx.version},
              {"goversion", ctx.compiler}},
             1);
  if (!ctx.zone_sources.empty()) {
    out.family("kepler_source_info",
               "How a zone's energy is obtained: an energy counter, power readings integrated over time, or "
               "an estimate from CPU usage (with its model and parameters)",
               metric_type::gauge);
    for (const auto& zone : ctx.zone_sources)
      out.sample("kepler_source_info",
                 {{"source", zone.source},
                  {"zone", zone.zone},
                  {"method", zone.method},
                  {"model", zone.model},
                  {"parameters", zone.parameters}},
                 1);
  }
  if (ctx.cpus.empty()) return;
  out.family("kepler_node_cpu_info", "CPU information from procfs", metric_type::gauge);
  for (const auto& cpu : ctx.cpus)
    out.sample("kepler_node_cpu_info",
               {{"processor", cpu.processor},
                {"vendor_id", cpu.vendor_id},
                {"model_name", cpu.model_name},
                {"physical_id", cpu.physical_id},
                {"core_id", cpu.core_id}},
               1);
}

}  // namespace

std::string render_metrics(const snapshot& snap, const render_context& ctx, std::size_t size_hint) {
  exposition_writer out;
  // About 300 bytes per process series, or the last size plus room to grow.
  auto series = series_of(snap);
  std::size_t rows =
      series.running.size() + series.terminated.size() + (series.capped ? series.capped->others.size() : 0);
  std::size_t estimate = 8192 + rows * (snap.zones.size() * 2 + 1) * 300;
  out.reserve(std::max(estimate, size_hint + size_hint / 8));
  render_info(out, ctx);
  if (ctx.metrics_level & level_node) render_node(out, snap, ctx);
  if (ctx.metrics_level & level_process) {
    render_process_energy(out, snap, ctx, false);
    render_process_energy(out, snap, ctx, true);
    if (ctx.platform_workloads && has_platform_zone(snap)) {
      render_process_energy(out, snap, ctx, false, true);
      render_process_energy(out, snap, ctx, true, true);
    }
    render_process_seconds(out, snap, ctx);
  }
  if (ctx.metrics_level & level_container) render_containers(out, snap, ctx);
  if (ctx.metrics_level & level_vm) render_vms(out, snap, ctx);
  if (ctx.metrics_level & level_pod) render_pods(out, snap, ctx);
  if (ctx.legacy_metrics) render_legacy(out, snap, ctx);
  render_health(out, snap);
  render_platform(out, snap, ctx);
  render_kube(out, snap);
  render_bpf(out, snap);
  render_self(out, snap.self);
  return out.take();
}

}  // namespace kepler
