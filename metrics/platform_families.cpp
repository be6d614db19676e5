// Whole-node power (docs/platform.md): Kepler v0.11's kepler_platform_watts, and ours: the
// platform's energy counter, its split into active and idle, its gap to the CPU zones, and
// each BMC's health.

#include <algorithm>

#include "metrics/families.hpp"

namespace kepler {
namespace {

const node_zone_stats* platform_zone_of(const snapshot& snap) {
  auto found = std::find_if(snap.zones.begin(), snap.zones.end(), [](const auto& z) { return z.platform; });
  return found == snap.zones.end() ? nullptr : &*found;
}

/// The CPU zones' power that the platform's includes without overlap: psys where the CPU has
/// it (it covers the package), else package plus DRAM; nothing without either.
std::optional<double> cpu_watts(const snapshot& snap) {
  std::optional<double> psys, parts;
  for (const auto& zone : snap.zones) {
    if (zone.platform) continue;
    if (zone.name == "psys") psys = zone.watts;
    if (zone.name == "package" || zone.name == "dram") parts = parts.value_or(0) + zone.watts;
  }
  return psys ? psys : parts;
}

void render_watts(exposition_writer& out, const snapshot& snap, const render_context& ctx,
                  const node_zone_stats* zone) {
  const bool acpi = zone && ctx.platform_source == "acpi";
  if (snap.platform.empty() && !acpi) return;
  out.family("kepler_platform_watts",
             "Current platform power in watts from BMC (PowerSubsystem or deprecated Power API)", metric_type::gauge);
  for (const auto& report : snap.platform)
    for (const auto& series : report.series)
      out.sample("kepler_platform_watts",
                 {{"source", report.source},
                  {"node_name", ctx.node_name},
                  {"bmc_id", report.bmc_id},
                  {"chassis_id", series.chassis_id},
                  {"source_id", series.source_id},
                  {"source_name", series.source_name},
                  {"source_type", series.source_type}},
                 series.watts);
  if (acpi)
    out.sample("kepler_platform_watts",
               {{"source", "acpi"},
                {"node_name", ctx.node_name},
                {"bmc_id", ""},
                {"chassis_id", ""},
                {"source_id", "power1"},
                {"source_name", "ACPI power meter"},
                {"source_type", "ACPIPowerMeter"}},
               zone->watts);
}

void render_energy(exposition_writer& out, const snapshot& snap, const render_context& ctx,
                   const node_zone_stats& zone) {
  out.family("kepler_platform_joules_total", "Energy consumption of the whole node (platform) in joules",
             metric_type::counter);
  out.sample("kepler_platform_joules_total", {{"source", ctx.platform_source}, {"node_name", ctx.node_name}},
             zone.total_uj * uj_to_joules);
  struct family {
    const char* name;
    const char* help;
    uint64_t uj;
  };
  const family families[] = {
      {"kepler_node_platform_active_joules_total", "Platform energy in the active state (by CPU usage) in joules",
       zone.active_uj},
      {"kepler_node_platform_idle_joules_total", "Platform energy in the idle state in joules", zone.idle_uj},
      {"kepler_node_platform_unattributed_joules_total",
       "Active platform energy that no running process accounts for, in joules", zone.unattributed_uj},
  };
  for (const auto& f : families) {
    out.family(f.name, f.help, metric_type::counter);
    out.sample(f.name, {{"node_name", ctx.node_name}}, f.uj * uj_to_joules);
  }
  if (auto cpu = cpu_watts(snap)) {
    out.family("kepler_node_platform_minus_cpu_watts",
               "Platform power minus the CPU zones' (psys, else package + dram) over the same window, in watts",
               metric_type::gauge);
    out.sample("kepler_node_platform_minus_cpu_watts", {{"node_name", ctx.node_name}}, zone.watts - *cpu);
  }
}

void render_bmc_health(exposition_writer& out, const snapshot& snap) {
  if (snap.platform.empty()) return;
  out.family("kepler_platform_source_info",
             "Where the node's platform power is read: the resource, and whether it is an energy counter or "
             "power integrated over each reading's interval",
             metric_type::gauge);
  for (const auto& report : snap.platform)
    if (!report.resource.empty())
      out.sample("kepler_platform_source_info",
                 {{"source", report.source},
                  {"bmc_id", report.bmc_id},
                  {"resource", report.resource},
                  {"method", report.method}},
                 1);
  out.family("kepler_platform_reading_age_seconds", "Age of the BMC's latest reading", metric_type::gauge);
  for (const auto& report : snap.platform)
    if (report.reading_age_seconds)
      out.sample("kepler_platform_reading_age_seconds", {{"source", report.source}, {"bmc_id", report.bmc_id}},
                 *report.reading_age_seconds);
  out.family("kepler_platform_errors_total", "Failed BMC polls by kind", metric_type::counter);
  for (const auto& report : snap.platform)
    for (const auto& [kind, count] : report.errors)
      out.sample("kepler_platform_errors_total", {{"source", report.source}, {"bmc_id", report.bmc_id}, {"kind", kind}},
                 static_cast<double>(count));
}

}  // namespace

bool has_platform_zone(const snapshot& snap) { return platform_zone_of(snap) != nullptr; }

void render_platform(exposition_writer& out, const snapshot& snap, const render_context& ctx) {
  const auto* zone = platform_zone_of(snap);
  render_watts(out, snap, ctx, zone);
  if (zone) render_energy(out, snap, ctx, *zone);
  render_bmc_health(out, snap);
}

}  // namespace kepler
