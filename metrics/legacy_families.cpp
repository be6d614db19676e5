// Kepler ≤ 0.9's per-zone family names (docs/compatibility.md difference #17), for dashboards built on them:
// kepler_container_<zone>_joules_total, kepler_container_joules_total and
// kepler_node_<zone>_joules_total. Containers get the active ("dynamic") energy; processes
// outside any container appear as the pseudo-container `system_processes`, as they did then.

#include <optional>
#include <string>

#include "metrics/families.hpp"

namespace kepler {
namespace {

constexpr std::string_view legacy_zones[] = {"package", "core", "uncore", "dram"};

std::optional<std::size_t> zone_index(const snapshot& snap, std::string_view name) {
  for (std::size_t z = 0; z < snap.zones.size(); ++z)
    if (snap.zones[z].name == name) return z;
  return std::nullopt;
}

/// One legacy container series: a container row, or the system pseudo-container.
struct legacy_container {
  std::string_view id, name, namespace_name, pod_name;
  const uint64_t* energy_uj;  // per zone
};

legacy_container legacy_row(const snapshot& snap, const workload_row& row, const uint64_t* energy_uj) {
  if (const pod_ref* ref = snap.kube ? snap.kube->container(row.id()) : nullptr)
    return {row.id(), ref->container_name, ref->pod_namespace, ref->pod_name, energy_uj};
  return {row.id(), row.info->container_name, "", "", energy_uj};
}

template <class Emit>
void for_each_legacy_container(const snapshot& snap, const std::vector<uint64_t>& outside, Emit emit) {
  std::size_t zones = snap.zones.size();
  const auto& table = snap.containers;
  for (std::size_t i = 0; i < table.running.size(); ++i)
    emit(legacy_row(snap, table.running[i], table.running_energy_uj.data() + i * zones));
  for (std::size_t i = 0; i < table.terminated.size(); ++i)
    emit(legacy_row(snap, table.terminated[i], table.terminated_energy_uj.data() + i * zones));
  emit(legacy_container{"system_processes", "system_processes", "system", "system_processes", outside.data()});
}

void container_sample(exposition_writer& out, const std::string& name, const legacy_container& c, double joules) {
  out.sample(name,
             {{"container_id", c.id},
              {"container_name", c.name},
              {"container_namespace", c.namespace_name},
              {"pod_name", c.pod_name},
              {"mode", "dynamic"}},
             joules);
}

}  // namespace

void render_legacy(exposition_writer& out, const snapshot& snap, const render_context& ctx) {
  std::vector<uint64_t> outside;
  for (const auto& zone : snap.zones) outside.push_back(zone.outside_containers_uj);
  for (auto zone_name : legacy_zones) {
    auto z = zone_index(snap, zone_name);
    if (!z) continue;
    std::string family = "kepler_container_" + std::string(zone_name) + "_joules_total";
    out.family(family, "Aggregated RAPL value in " + std::string(zone_name) + " in joules (legacy name)",
               metric_type::counter);
    for_each_legacy_container(snap, outside, [&](const legacy_container& c) {
      container_sample(out, family, c, c.energy_uj[*z] * uj_to_joules);
    });
  }
  // Package (which contains core and uncore) plus DRAM, as the old total did.
  auto package = zone_index(snap, "package");
  auto dram = zone_index(snap, "dram");
  out.family("kepler_container_joules_total", "Aggregated RAPL Package + DRAM in joules (legacy name)",
             metric_type::counter);
  for_each_legacy_container(snap, outside, [&](const legacy_container& c) {
    uint64_t total = (package ? c.energy_uj[*package] : 0) + (dram ? c.energy_uj[*dram] : 0);
    container_sample(out, "kepler_container_joules_total", c, total * uj_to_joules);
  });
  for (auto zone_name : legacy_zones) {
    auto z = zone_index(snap, zone_name);
    if (!z) continue;
    std::string family = "kepler_node_" + std::string(zone_name) + "_joules_total";
    out.family(family, "Aggregated RAPL value in " + std::string(zone_name) + " in joules (legacy name)",
               metric_type::counter);
    const auto& zone = snap.zones[*z];
    out.sample(family, {{"mode", "dynamic"}, {"source", ctx.power_source}, {"node_name", ctx.node_name}},
               zone.active_uj * uj_to_joules);
    out.sample(family, {{"mode", "idle"}, {"source", ctx.power_source}, {"node_name", ctx.node_name}},
               zone.idle_uj * uj_to_joules);
  }
}

}  // namespace kepler
