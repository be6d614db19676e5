#include "attribution/attribution.hpp"

#include <algorithm>

#include "attribution/scale.hpp"
#include "sensors/power/energy_counter.hpp"

namespace kepler {
namespace {

std::vector<node_zone_stats> merge_sockets(const std::vector<physical_zone>& zones) {
  std::vector<node_zone_stats> nodes;
  for (const auto& zone : zones) {
    auto same_name = [&](const node_zone_stats& n) { return n.name == zone.name; };
    auto it = std::find_if(nodes.begin(), nodes.end(), same_name);
    if (it == nodes.end()) {
      nodes.push_back(node_zone_stats{.name = zone.name, .path = zone.path, .platform = zone.platform});
    } else {
      it->path = "aggregated-" + zone.name;
    }
  }
  return nodes;
}

double seconds_between(int64_t from_ns, int64_t to_ns) {
  return to_ns > from_ns ? static_cast<double>(to_ns - from_ns) / 1e9 : 0.0;
}

double watts_of(uint64_t uj, double seconds) { return seconds > 0 ? static_cast<double>(uj) / 1e6 / seconds : 0.0; }

const std::string& container_of(const process_info& info) { return info.container_id; }
const std::string& vm_of(const process_info& info) { return info.vm_id; }
// The pod from the container's cgroup path, so pods exist from a container's first interval,
// before (or without) any pod list.
const std::string& pod_of(const process_info& info) { return info.pod_id; }

}  // namespace

std::size_t choose_primary_zone(const std::vector<node_zone_stats>& zones) {
  for (const char* preferred : {"psys", "package", "core", "dram", "uncore"}) {
    for (std::size_t i = 0; i < zones.size(); ++i) {
      std::string lower = zones[i].name;
      std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
      if (lower == preferred) return i;
    }
  }
  return 0;
}

attribution::attribution(std::vector<physical_zone> zones, terminated_policy policy)
    : physical_(std::move(zones)),
      nodes_(merge_sockets(physical_)),
      node_state_(nodes_.size()),
      primary_zone_(choose_primary_zone(nodes_)),
      ledger_(nodes_.size()),
      terminated_(policy, nodes_.size(), primary_zone_),
      containers_(container_of, 0, nodes_.size(), policy, primary_zone_, true),
      vms_(vm_of, 1, nodes_.size(), policy, primary_zone_, false),
      pods_(pod_of, 2, nodes_.size(), policy, primary_zone_, false) {
  for (const auto& zone : physical_) {
    physical_state state;
    auto same_name = [&](const node_zone_stats& n) { return n.name == zone.name; };
    state.node = std::find_if(nodes_.begin(), nodes_.end(), same_name) - nodes_.begin();
    state.stats = socket_zone_stats{zone.name, zone.index, zone.path, 0, 0, zone.platform};
    physical_state_.push_back(std::move(state));
  }
}

void attribution::cap_process_series(std::size_t limit) {
  if (limit == 0) {
    cap_.reset();
  } else {
    cap_.emplace(limit, nodes_.size(), primary_zone_);
  }
}

std::shared_ptr<snapshot> attribution::update(const round_input& input) {
  for (std::size_t z = 0; z < physical_.size() && z < input.readings.size(); ++z)
    if (input.readings[z]) accept_reading(z, *input.readings[z]);

  cpu_outcome cpu;
  if (input.cpu) cpu = accept_cpu(*input.cpu, input.mono_ns);
  if (cpu.window) {
    for (std::size_t n = 0; n < nodes_.size(); ++n) split_zone(n, *cpu.window);
  }
  if (cpu.applied) {
    containers_.apply(ledger_, input.mono_ns);
    vms_.apply(ledger_, input.mono_ns);
    pods_.apply(ledger_, input.mono_ns);
    if (cap_) cap_->apply(ledger_);
  }
  terminated_.expire(input.mono_ns);
  containers_.expire(input.mono_ns);
  vms_.expire(input.mono_ns);
  pods_.expire(input.mono_ns);
  ++sequence_;
  return make_snapshot(input);
}

void attribution::accept_reading(std::size_t zone, const energy_reading& reading) {
  auto& state = physical_state_[zone];
  auto& node = node_state_[state.node];
  if (!state.last) {
    state.last = reading;
    if (node.window_start_mono < 0) node.window_start_mono = reading.measured_mono_ns;
    return;
  }
  const auto& last = *state.last;
  uint64_t delta = 0;
  if (reading.generation == last.generation) {
    delta = reading.total_uj >= last.total_uj ? reading.total_uj - last.total_uj : 0;
  } else {
    // A restarted sampler starts a new total; bridge the gap from the raw counter, unless no
    // plausible power explains it (the counter was reset while the sampler was down).
    auto bridge = judge_delta({last.raw_uj, last.measured_mono_ns}, {reading.raw_uj, reading.measured_mono_ns},
                              {reading.max_energy_uj, physical_[zone].max_plausible_watts});
    if (bridge.verdict != reading_verdict::accepted && on_rejected_) on_rejected_(zone, bridge.verdict);
    delta = bridge.delta_uj;
  }
  state.stats.total_uj += delta;
  state.stats.watts = watts_of(delta, seconds_between(last.measured_mono_ns, reading.measured_mono_ns));
  node.pending_uj += delta;
  node.window_end_mono = std::max(node.window_end_mono, reading.measured_mono_ns);
  state.last = reading;
}

attribution::cpu_outcome attribution::accept_cpu(const process_table& table, int64_t now_mono_ns) {
  bool has_baseline = last_cpu_times_.has_value();
  cpu_window window;
  if (has_baseline) {
    const auto& before = *last_cpu_times_;
    uint64_t busy = table.node.busy() >= before.busy() ? table.node.busy() - before.busy() : 0;
    uint64_t total = table.node.total() >= before.total() ? table.node.total() - before.total() : 0;
    window = cpu_window{busy * table.ns_per_tick, total * table.ns_per_tick};
    // An empty window cannot split energy; keep the old baseline so nothing is lost.
    if (window.total_ns == 0) return {};
  }
  auto ended = ledger_.apply_scan(table, has_baseline, last_uptime_ns_);
  terminated_.add(std::move(ended), now_mono_ns);
  last_cpu_times_ = table.node;
  last_uptime_ns_ = table.uptime_ns;
  if (!has_baseline) return {true, std::nullopt};
  usage_ratio_ = static_cast<double>(window.busy_ns) / static_cast<double>(window.total_ns);
  return {true, window};
}

void attribution::split_zone(std::size_t zone, const cpu_window& window) {
  auto& node = nodes_[zone];
  auto& state = node_state_[zone];
  if (state.window_end_mono < 0) return;  // no reading since the baseline
  double seconds = seconds_between(state.window_start_mono, state.window_end_mono);
  uint64_t energy = state.pending_uj;
  uint64_t active = scale(energy, window.busy_ns, window.total_ns);
  // Shares are CPU time over the node's busy time: busy time no live process accounts for
  // (processes that exited between scans, interrupts) stays unattributed.
  uint64_t pool = std::max(window.busy_ns, ledger_.window_cpu_ns());
  uint64_t attributed = ledger_.distribute(zone, active, pool, seconds);
  uint64_t unattributed = active - attributed;

  node.total_uj += energy;
  node.active_uj += active;
  node.idle_uj += energy - active;
  node.unattributed_uj += unattributed;
  node.watts = watts_of(energy, seconds);
  node.active_watts = watts_of(active, seconds);
  node.idle_watts = watts_of(energy - active, seconds);
  node.unattributed_watts = watts_of(unattributed, seconds);
  state.pending_uj = 0;
  state.window_start_mono = state.window_end_mono;
  state.window_end_mono = -1;
}

std::shared_ptr<snapshot> attribution::make_snapshot(const round_input& input) {
  auto snap = std::make_shared<snapshot>();
  snap->sequence = sequence_;
  snap->wall_ns = input.wall_ns;
  snap->mono_ns = input.mono_ns;
  snap->usage_ratio = usage_ratio_;
  snap->zones = nodes_;
  for (const auto& state : physical_state_) snap->sockets.push_back(state.stats);
  snap->running = ledger_.rows();
  snap->running_energy_uj = ledger_.energy_uj();
  snap->running_watts = ledger_.watts();
  for (const auto& entry : terminated_.entries()) {
    snap->terminated.push_back(entry.row);
    snap->terminated_energy_uj.insert(snap->terminated_energy_uj.end(), entry.energy_uj.begin(), entry.energy_uj.end());
  }
  snap->containers = containers_.table();
  if (cap_) {
    cap_->expire(ledger_, terminated_.entries(), snap->containers);
    snap->capped_processes = cap_->view(ledger_, terminated_.entries(), snap->containers);
  }
  snap->vms = vms_.table();
  snap->pods = pods_.table();
  for (std::size_t z = 0; z < snap->zones.size(); ++z) {
    auto& zone = snap->zones[z];
    zone.outside_containers_uj = containers_.outside_uj()[z] + zone.unattributed_uj;
    uint64_t accounted =
        ledger_.zone_total_uj(z) + terminated_.zone_total_uj(z) + terminated_.retired_uj()[z] + zone.unattributed_uj;
    zone.conservation_error_uj = static_cast<int64_t>(zone.active_uj - accounted);
  }
  return snap;
}

}  // namespace kepler
