#include "sensors/power/power_meter.hpp"

#include <map>
#include <memory>

#include <fmt/format.h>

#include "base/clock.hpp"
#include "sensors/power/estimate_meter.hpp"
#include "sensors/power/fake_meter.hpp"
#include "sensors/power/hwmon.hpp"
#include "sensors/power/msr.hpp"
#include "sensors/power/power_integrator.hpp"
#include "sensors/power/rapl.hpp"

namespace kepler {
namespace {

power_meter rapl_meter(const kepler_config& config) {
  power_meter meter;
  meter.source = "rapl";
  auto found = discover_rapl_zones(config.host.sysfs, config.rapl.zones);
  for (auto& warning : found.warnings) meter.notes.push_back({true, warning});
  for (const auto& zone : found.zones) {
    // Reading energy_uj is root-only on modern kernels: check each zone once now.
    if (auto first = read_energy_uj(zone.path); !first) {
      meter.notes.push_back({true, "skipping RAPL zone " + zone.path + ": " + first.error_message()});
      continue;
    }
    std::string path = zone.path;
    meter.zones.push_back(zone_source{physical_zone{zone.name, zone.index, zone.path, zone.max_energy_uj,
                                                    config.rapl.max_plausible_watts},
                                      zone.name + "-" + std::to_string(zone.index),
                                      [path] { return energy_read_fn([path] { return read_energy_uj(path); }); },
                                      zone_provenance{meter_method::counter, "", ""}});
  }
  if (meter.zones.empty())
    meter.notes.push_back({true, "no readable RAPL zones under " + config.host.sysfs + "/class/powercap"});
  return meter;
}

power_meter msr_meter(const kepler_config& config) {
  power_meter meter;
  meter.source = "msr";
  auto found = discover_msr(config.msr.device_path, config.host.sysfs, config.host.procfs);
  for (auto& warning : found.warnings) meter.notes.push_back({true, warning});
  for (const auto& zone : found.zones) {
    physical_zone physical{zone.name, zone.package, msr_zone_path(zone, config.msr.device_path),
                           msr_zone_range_uj(zone), config.rapl.max_plausible_watts};
    std::string device_template = config.msr.device_path;
    meter.zones.push_back(zone_source{physical, zone.name + "-" + std::to_string(zone.package),
                                      [zone, device_template] { return msr_zone_reader(zone, device_template); },
                                      zone_provenance{meter_method::counter, "", ""}});
  }
  if (meter.zones.empty()) meter.notes.push_back({true, "no readable RAPL MSRs at " + config.msr.device_path});
  return meter;
}

/// The ACPI power meter (hwmon `power_meter`) measures the whole node: a platform source, never
/// a CPU zone.
bool is_acpi_power_meter(const hwmon_channel& channel) { return channel.driver == "power_meter"; }

/// A fresh reader of one hwmon channel: energy counters as they are, power integrated.
energy_read_fn hwmon_reader(const hwmon_channel& channel, double max_watts) {
  if (channel.kind == hwmon_channel_kind::energy) return [channel] { return read_hwmon_value(channel); };
  auto kind =
      channel.path.ends_with("_average") ? power_integrator::readings::averages : power_integrator::readings::instants;
  auto integrator = std::make_shared<power_integrator>(max_watts, kind);
  return [channel, integrator]() -> result<uint64_t> {
    auto microwatts = read_hwmon_value(channel);
    if (!microwatts) return microwatts.error();
    return integrator->update(microwatts.value(), monotonic_now_ns());
  };
}

zone_source hwmon_zone(const hwmon_channel& channel, int index, double max_watts) {
  bool counter = channel.kind == hwmon_channel_kind::energy;
  physical_zone zone{channel.zone, index, channel.path, channel.energy_range_uj, max_watts};
  if (channel.kind == hwmon_channel_kind::voltage_current) zone.path = channel.path + "*" + channel.current_path;
  if (!counter)
    zone.sample_period = channel.average_interval.count() > 0 ? channel.average_interval : hwmon_power_sample_period;
  zone_provenance provenance{counter ? meter_method::counter : meter_method::integrated_power, "", ""};
  if (channel.kind == hwmon_channel_kind::voltage_current) provenance.parameters = "voltage × current";
  return zone_source{zone, channel.zone + "-" + std::to_string(index),
                     [channel, max_watts] { return hwmon_reader(channel, max_watts); }, provenance};
}

power_meter hwmon_meter(const kepler_config& config) {
  power_meter meter;
  meter.source = "hwmon";
  auto found = discover_hwmon(config.host.sysfs, config.hwmon.chip_rules, config.hwmon.zones);
  for (auto& warning : found.warnings) meter.notes.push_back({true, warning});
  std::map<std::string, int> next_index;  // zones of the same name (one per socket) are numbered
  for (const auto& channel : found.channels) {
    if (is_acpi_power_meter(channel)) {
      meter.notes.push_back({false, "hwmon " + channel.chip +
                                        " is the ACPI power meter (the whole node): a platform "
                                        "source, not a CPU zone"});
      continue;
    }
    if (auto first = read_hwmon_value(channel); !first) {
      meter.notes.push_back({true, "skipping hwmon " + channel.chip + " " + channel.id + ": " + first.error_message()});
      continue;
    }
    meter.zones.push_back(hwmon_zone(channel, next_index[channel.zone]++, config.rapl.max_plausible_watts));
    meter.notes.push_back({false, "hwmon zone " + meter.zones.back().label + ": " + channel.chip + " " + channel.id +
                                      " (" + std::string(to_string(meter.zones.back().provenance.method)) + ")"});
  }
  if (meter.zones.empty())
    meter.notes.push_back(
        {true, "no readable hwmon power or energy channels under " + config.host.sysfs + "/class/hwmon"});
  return meter;
}

power_meter fake_meter(const kepler_config& config) {
  power_meter meter;
  meter.source = "fake-cpu-meter";
  auto names = config.fake_cpu_meter.zones;
  if (names.empty()) names = {"package", "core", "dram"};
  fake_meter_model model{config.fake_cpu_meter.idle_watts, config.fake_cpu_meter.max_watts};
  std::string procfs = config.host.procfs;
  zone_provenance provenance{meter_method::estimate, "fake-cpu-meter",
                             fmt::format("idle {} W, max {} W, linear in CPU usage", model.idle_watts,
                                         model.max_watts)};
  for (std::size_t i = 0; i < names.size(); ++i) {
    fake_zone probe(names[i], model, procfs, [] { return std::chrono::nanoseconds(monotonic_now_ns()); });
    std::string name = names[i];
    meter.zones.push_back(zone_source{physical_zone{name, static_cast<int>(i), probe.path(), 0}, name,
                                      [name, model, procfs] {
                                        auto zone = std::make_shared<fake_zone>(name, model, procfs, [] {
                                          return std::chrono::nanoseconds(monotonic_now_ns());
                                        });
                                        return energy_read_fn([zone] { return zone->read_energy_uj(); });
                                      },
                                      provenance});
  }
  meter.notes.push_back({false, fmt::format("using fake-cpu-meter: estimated power ({} W idle to {} W "
                                            "busy, following CPU usage), not a measurement",
                                            model.idle_watts, model.max_watts)});
  return meter;
}

}  // namespace

power_meter choose_power_meter(const std::vector<meter_kind>& ladder,
                               const std::function<power_meter(meter_kind)>& discover) {
  power_meter none;
  std::string skipped;  // the meters before the chosen one, for the start-up log
  for (meter_kind kind : ladder) {
    power_meter meter = discover(kind);
    none.notes.insert(none.notes.end(), meter.notes.begin(), meter.notes.end());
    if (!meter.zones.empty()) {
      meter.notes = std::move(none.notes);
      if (!skipped.empty())
        meter.notes.push_back({false, "using " + meter.source + " (" + skipped + " found no usable zone)"});
      return meter;
    }
    skipped += (skipped.empty() ? "" : ", ") + std::string(to_string(kind));
  }
  none.notes.push_back({true, "no power meter available; serving CPU time and health only"});
  return none;
}

std::optional<zone_source> acpi_power_meter_zone(const kepler_config& config, std::vector<log_note>& notes) {
  auto found = discover_hwmon(config.host.sysfs, {}, {});
  for (const auto& channel : found.channels) {
    if (!is_acpi_power_meter(channel) || channel.kind != hwmon_channel_kind::power) continue;
    if (auto first = read_hwmon_value(channel); !first) {
      notes.push_back({true, "ACPI power meter " + channel.path + " is not readable: " + first.error_message()});
      continue;
    }
    auto zone = hwmon_zone(channel, 0, platform_max_plausible_watts);
    zone.zone.name = "platform";
    zone.zone.platform = true;
    zone.label = "platform";
    notes.push_back({false, "platform power from the ACPI power meter " + channel.path + " (averaged over " +
                                std::to_string(channel.average_interval.count()) + " ms)"});
    return zone;
  }
  return std::nullopt;
}

power_meter select_power_meter(const kepler_config& config) {
  return choose_power_meter(config.cpu.preferred_meters, [&config](meter_kind kind) {
    switch (kind) {
      case meter_kind::rapl: return rapl_meter(config);
      case meter_kind::msr: return msr_meter(config);
      case meter_kind::hwmon: return hwmon_meter(config);
      case meter_kind::fake: return fake_meter(config);
      case meter_kind::estimate: return discover_estimate_meter(config);
    }
    return power_meter{};
  });
}

}  // namespace kepler
