// Container and VM families (spec §6.2, §11).

#include <array>

#include "actors/render_families.hpp"

namespace kepler {
namespace {

/// The labels of one container or VM series, given its state and zone.
using label_fn = std::array<label, 7> (*)(const workload_row&, std::string_view state, std::string_view zone,
                                          const render_context&);

/// Writes `<prefix>_cpu_joules_total` and `<prefix>_cpu_watts` for running and terminated rows.
void render_energy(exposition_writer& out, const snapshot& snap, const workload_table& table,
                   const render_context& ctx, std::string_view level, label_fn labels_of, std::size_t label_count) {
  std::string joules = "kepler_" + std::string(level) + "_cpu_joules_total";
  std::string watts = "kepler_" + std::string(level) + "_cpu_watts";
  std::size_t zones = snap.zones.size();
  auto emit = [&](const std::string& name, const workload_row& row, std::string_view state, std::size_t z, double value) {
    auto labels = labels_of(row, state, snap.zones[z].name, ctx);
    out.sample(name, std::span<const label>(labels.data(), label_count), value);
  };
  out.family(joules, "Energy consumption of cpu at " + std::string(level) + " level in joules", metric_type::counter);
  for (std::size_t i = 0; i < table.running.size(); ++i)
    for (std::size_t z = 0; z < zones; ++z)
      emit(joules, table.running[i], "running", z, table.running_energy_uj[i * zones + z] * uj_to_joules);
  for (std::size_t i = 0; i < table.terminated.size(); ++i)
    for (std::size_t z = 0; z < zones; ++z)
      emit(joules, table.terminated[i], "terminated", z, table.terminated_energy_uj[i * zones + z] * uj_to_joules);
  out.family(watts, "Power consumption of cpu at " + std::string(level) + " level in watts", metric_type::gauge);
  for (std::size_t i = 0; i < table.running.size(); ++i)
    for (std::size_t z = 0; z < zones; ++z) emit(watts, table.running[i], "running", z, table.running_watts[i * zones + z]);
  for (const auto& row : table.terminated)
    for (std::size_t z = 0; z < zones; ++z) emit(watts, row, "terminated", z, 0.0);
}

std::array<label, 7> container_labels(const workload_row& row, std::string_view state, std::string_view zone,
                                      const render_context& ctx) {
  const auto& info = *row.info;
  return {{{"container_id", row.id()}, {"container_name", info.container_name}, {"runtime", info.runtime},
           {"state", state}, {"zone", zone}, {"pod_id", info.pod_id}, {"node_name", ctx.node_name}}};
}

std::array<label, 7> vm_labels(const workload_row& row, std::string_view state, std::string_view zone,
                               const render_context& ctx) {
  const auto& info = *row.info;
  return {{{"vm_id", row.id()}, {"vm_name", info.vm_name}, {"hypervisor", info.hypervisor}, {"state", state},
           {"zone", zone}, {"node_name", ctx.node_name}, {}}};
}

}  // namespace

void render_containers(exposition_writer& out, const snapshot& snap, const render_context& ctx) {
  render_energy(out, snap, snap.containers, ctx, "container", container_labels, 7);
  out.family("kepler_container_cpu_seconds_total", "Total user and system time of cpu at container level in seconds",
             metric_type::counter);
  auto seconds = [&](const workload_row& row, std::string_view state) {
    const auto& info = *row.info;
    out.sample("kepler_container_cpu_seconds_total",
               {{"container_id", row.id()}, {"container_name", info.container_name}, {"runtime", info.runtime},
                {"state", state}, {"pod_id", info.pod_id}, {"node_name", ctx.node_name}},
               static_cast<double>(row.cpu_ns) / 1e9);
  };
  for (const auto& row : snap.containers.running) seconds(row, "running");
  for (const auto& row : snap.containers.terminated) seconds(row, "terminated");
}

void render_vms(exposition_writer& out, const snapshot& snap, const render_context& ctx) {
  render_energy(out, snap, snap.vms, ctx, "vm", vm_labels, 6);
}

}  // namespace kepler
