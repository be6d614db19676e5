// Container, VM and pod families (docs/compatibility.md §6.2, §11).

#include <array>

#include "metrics/families.hpp"

namespace kepler {
namespace {

/// The labels of one container, VM or pod series, given its state and zone.
using label_fn = std::array<label, 7> (*)(const workload_row&, std::string_view state, std::string_view zone,
                                          const snapshot&, const render_context&);
/// Whether a row is exported at all.
using filter_fn = bool (*)(const workload_row&, const snapshot&);

bool every_row(const workload_row&, const snapshot&) { return true; }

/// Writes `kepler_<level>_<domain>_joules_total` and `…_watts` for running and terminated rows:
/// the CPU zones' (domain cpu) or the platform zone's (domain platform).
void render_energy(exposition_writer& out, const snapshot& snap, const workload_table& table, const render_context& ctx,
                   std::string_view level, std::string_view domain, label_fn labels_of, std::size_t label_count,
                   filter_fn exported = every_row) {
  const std::string prefix = "kepler_" + std::string(level) + "_" + std::string(domain);
  const std::string joules = prefix + "_joules_total", watts = prefix + "_watts";
  const std::string what = std::string(domain) + " at " + std::string(level) + " level";
  const bool platform = domain == "platform";
  std::size_t zones = snap.zones.size();
  auto emit = [&](const std::string& name, const workload_row& row, std::string_view state, std::size_t z,
                  double value) {
    if (snap.zones[z].platform != platform || !exported(row, snap)) return;
    auto labels = labels_of(row, state, snap.zones[z].name, snap, ctx);
    out.sample(name, std::span<const label>(labels.data(), label_count), value);
  };
  out.family(joules, "Energy consumption of " + what + " in joules", metric_type::counter);
  for (std::size_t i = 0; i < table.running.size(); ++i)
    for (std::size_t z = 0; z < zones; ++z)
      emit(joules, table.running[i], "running", z, table.running_energy_uj[i * zones + z] * uj_to_joules);
  for (std::size_t i = 0; i < table.terminated.size(); ++i)
    for (std::size_t z = 0; z < zones; ++z)
      emit(joules, table.terminated[i], "terminated", z, table.terminated_energy_uj[i * zones + z] * uj_to_joules);
  out.family(watts, "Power consumption of " + what + " in watts", metric_type::gauge);
  for (std::size_t i = 0; i < table.running.size(); ++i)
    for (std::size_t z = 0; z < zones; ++z)
      emit(watts, table.running[i], "running", z, table.running_watts[i * zones + z]);
  for (const auto& row : table.terminated)
    for (std::size_t z = 0; z < zones; ++z) emit(watts, row, "terminated", z, 0.0);
}

/// A container's name and pod: from the pod spec when Kubernetes knows the container,
/// else what its process and cgroup path tell.
struct container_names {
  std::string_view name, pod_id;
};

container_names names_of(const workload_row& row, const snapshot& snap) {
  const auto& info = *row.info;
  if (const pod_ref* ref = snap.kube ? snap.kube->container(row.id()) : nullptr)
    return {ref->container_name, info.pod_id.empty() ? std::string_view(ref->pod_uid) : info.pod_id};
  return {info.container_name, info.pod_id};
}

std::array<label, 7> container_labels(const workload_row& row, std::string_view state, std::string_view zone,
                                      const snapshot& snap, const render_context& ctx) {
  auto names = names_of(row, snap);
  return {{{"container_id", row.id()},
           {"container_name", names.name},
           {"runtime", row.info->runtime},
           {"state", state},
           {"zone", zone},
           {"pod_id", names.pod_id},
           {"node_name", ctx.node_name}}};
}

/// Pods are exported once their name is known (kube.enabled and the pod listed): their
/// energy is counted from their first container's first interval all the same.
std::array<label, 7> pod_labels(const workload_row& row, std::string_view state, std::string_view zone,
                                const snapshot& snap, const render_context& ctx) {
  const pod_ref* ref = snap.kube ? snap.kube->pod(row.id()) : nullptr;
  return {{{"pod_id", row.id()},
           {"pod_name", ref->pod_name},
           {"pod_namespace", ref->pod_namespace},
           {"state", state},
           {"zone", zone},
           {"node_name", ctx.node_name},
           {}}};
}

bool named_pod(const workload_row& row, const snapshot& snap) { return snap.kube && snap.kube->pod(row.id()); }

/// The CPU families, and the platform's where they are asked for.
void render_domains(exposition_writer& out, const snapshot& snap, const workload_table& table,
                    const render_context& ctx, std::string_view level, label_fn labels_of, std::size_t label_count,
                    filter_fn exported = every_row) {
  render_energy(out, snap, table, ctx, level, "cpu", labels_of, label_count, exported);
  if (ctx.platform_workloads && has_platform_zone(snap))
    render_energy(out, snap, table, ctx, level, "platform", labels_of, label_count, exported);
}

std::array<label, 7> vm_labels(const workload_row& row, std::string_view state, std::string_view zone, const snapshot&,
                               const render_context& ctx) {
  const auto& info = *row.info;
  return {{{"vm_id", row.id()},
           {"vm_name", info.vm_name},
           {"hypervisor", info.hypervisor},
           {"state", state},
           {"zone", zone},
           {"node_name", ctx.node_name},
           {}}};
}

}  // namespace

void render_containers(exposition_writer& out, const snapshot& snap, const render_context& ctx) {
  render_domains(out, snap, snap.containers, ctx, "container", container_labels, 7);
  out.family("kepler_container_cpu_seconds_total", "Total user and system time of cpu at container level in seconds",
             metric_type::counter);
  auto seconds = [&](const workload_row& row, std::string_view state) {
    auto names = names_of(row, snap);
    out.sample("kepler_container_cpu_seconds_total",
               {{"container_id", row.id()},
                {"container_name", names.name},
                {"runtime", row.info->runtime},
                {"state", state},
                {"pod_id", names.pod_id},
                {"node_name", ctx.node_name}},
               static_cast<double>(row.cpu_ns) / 1e9);
  };
  for (const auto& row : snap.containers.running) seconds(row, "running");
  for (const auto& row : snap.containers.terminated) seconds(row, "terminated");
}

void render_vms(exposition_writer& out, const snapshot& snap, const render_context& ctx) {
  render_domains(out, snap, snap.vms, ctx, "vm", vm_labels, 6);
}

void render_pods(exposition_writer& out, const snapshot& snap, const render_context& ctx) {
  if (!snap.kube) return;  // without Kubernetes there are no pods (docs/compatibility.md §4.6)
  render_domains(out, snap, snap.pods, ctx, "pod", pod_labels, 6, named_pod);
}

}  // namespace kepler
