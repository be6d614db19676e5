#include "sensors/power/estimate_meter.hpp"

#include <algorithm>
#include <memory>
#include <utility>

#include <fmt/format.h>

#include "base/clock.hpp"
#include "sensors/power/sysfs_value.hpp"

namespace kepler {
namespace {

/// Enough for the aggregate `cpu` line, which /proc/stat always writes first (ten 20-digit
/// columns at most): reading no further skips copying the per-CPU and interrupt lines.
constexpr std::size_t stat_head_bytes = 1024;

zone_source estimate_source(const estimate_model& model, const std::string& procfs) {
  const power_curve curve = model.curve;
  return zone_source{physical_zone{estimate_zone_name, 0, procfs + "/stat", 0}, std::string(estimate_zone_name) + "-0",
                     [curve, procfs] {
                       auto zone = std::make_shared<estimate_zone>(curve, procfs, [] {
                         return std::chrono::nanoseconds(monotonic_now_ns());
                       });
                       return energy_read_fn([zone] { return zone->read_energy_uj(); });
                     },
                     zone_provenance{meter_method::estimate, model.name, model.parameters}};
}

}  // namespace

estimate_zone::estimate_zone(power_curve curve, std::string procfs_root, clock_fn now)
    : curve_(std::move(curve)), stat_path_(std::move(procfs_root) + "/stat"), now_(std::move(now)) {
  if (!now_) now_ = [] { return std::chrono::steady_clock::now().time_since_epoch(); };
}

result<cpu_times> estimate_zone::read_cpu() {
  char buf[stat_head_bytes];
  auto n = read_file_head(stat_path_, buf, sizeof buf);
  if (!n) return n.error();
  std::string_view head(buf, n.value());
  const auto line_end = head.find('\n');
  if (line_end == std::string_view::npos && head.size() == sizeof buf)
    return make_error(errc::parse, stat_path_ + ": first line longer than " + std::to_string(sizeof buf) + " bytes");
  auto cpu = parse_proc_stat(head.substr(0, line_end));
  if (!cpu) return make_error(errc::parse, stat_path_ + ": " + cpu.error_message());
  return cpu;
}

uint64_t estimate_zone::add_sample(const cpu_times& cpu, std::chrono::nanoseconds now) {
  if (started_) {
    // The model's watts at the window's usage, over the window's own length.
    const double watts = curve_.watts_at(usage_ratio(last_cpu_, cpu));
    const auto elapsed_ns = std::max<int64_t>(0, (now - last_time_).count());
    energy_uj_ += watts * static_cast<double>(elapsed_ns) / 1000.0;  // W × ns = 1e-3 µJ
  }
  started_ = true;
  last_time_ = now;
  last_cpu_ = cpu;
  // Rounding a non-decreasing accumulator keeps the counter monotonic.
  return static_cast<uint64_t>(energy_uj_ + 0.5);
}

result<uint64_t> estimate_zone::read_energy_uj() {
  auto cpu = read_cpu();
  if (!cpu) return cpu.error();
  return add_sample(cpu.value(), now_());
}

power_meter estimate_meter_for(const kepler_config& config, const node_facts& facts, const estimate_tables& tables) {
  power_meter meter;
  meter.source = "estimate";
  if (facts.logical_cpus == 0)
    meter.notes.push_back({true, "estimate: " + config.host.procfs +
                                     "/cpuinfo lists no CPUs; the model assumes one thread and one package"});
  const auto model = choose_estimate_model(config, facts, tables);
  meter.zones.push_back(estimate_source(model, config.host.procfs));
  if (model.fallback)
    meter.notes.push_back({true, fmt::format("estimate: {}; using the fallback {} ({}): expect a large error "
                                             "(docs/estimate.md); set estimate.tdpWatts, estimate.maxWatts or "
                                             "estimate.curve for a better one",
                                             model.basis, model.name, model.parameters)});
  meter.notes.push_back({false, fmt::format("using estimate: estimated, not measured: model {} ({}); {}", model.name,
                                            model.parameters, model.basis)});
  return meter;
}

power_meter discover_estimate_meter(const kepler_config& config) {
  power_meter meter;
  if (const auto& error = builtin_estimate_tables_error(); !error.empty())
    meter.notes.push_back({true, "estimate: the built-in tables did not load (" + error +
                                     "); only the "
                                     "fallback and the configuration's overrides are available"});
  auto found =
      estimate_meter_for(config, read_node_facts(config.host.sysfs, config.host.procfs), builtin_estimate_tables());
  meter.source = std::move(found.source);
  meter.zones = std::move(found.zones);
  meter.notes.insert(meter.notes.end(), found.notes.begin(), found.notes.end());
  return meter;
}

}  // namespace kepler
