#include "sensors/power/power_meter.hpp"

#include <memory>

#include <fmt/format.h>

#include "base/clock.hpp"
#include "sensors/power/fake_meter.hpp"
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
                                      [path] { return energy_read_fn([path] { return read_energy_uj(path); }); }, ""});
  }
  if (meter.zones.empty())
    meter.notes.push_back({true, "no readable RAPL zones under " + config.host.sysfs + "/class/powercap"});
  return meter;
}

power_meter fake_meter(const kepler_config& config) {
  power_meter meter;
  meter.source = "fake-cpu-meter";
  meter.method = meter_method::estimate;
  auto names = config.fake_cpu_meter.zones;
  if (names.empty()) names = {"package", "core", "dram"};
  fake_meter_model model{config.fake_cpu_meter.idle_watts, config.fake_cpu_meter.max_watts};
  std::string procfs = config.host.procfs;
  for (std::size_t i = 0; i < names.size(); ++i) {
    fake_zone probe(names[i], model, procfs, [] { return std::chrono::nanoseconds(monotonic_now_ns()); });
    std::string name = names[i];
    std::string described = fmt::format("{} × ({} W + {} W × CPU usage)", fake_zone_scale(name), model.idle_watts,
                                        model.max_watts - model.idle_watts);
    meter.zones.push_back(zone_source{physical_zone{name, static_cast<int>(i), probe.path(), 0}, name,
                                      [name, model, procfs] {
                                        auto zone = std::make_shared<fake_zone>(name, model, procfs, [] {
                                          return std::chrono::nanoseconds(monotonic_now_ns());
                                        });
                                        return energy_read_fn([zone] { return zone->read_energy_uj(); });
                                      },
                                      std::move(described)});
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
  for (meter_kind kind : ladder) {
    power_meter meter = discover(kind);
    none.notes.insert(none.notes.end(), meter.notes.begin(), meter.notes.end());
    if (!meter.zones.empty()) {
      meter.notes = std::move(none.notes);
      return meter;
    }
  }
  none.notes.push_back({true, "no power meter available; serving CPU time and health only"});
  return none;
}

power_meter select_power_meter(const kepler_config& config) {
  return choose_power_meter(config.cpu.preferred_meters, [&config](meter_kind kind) {
    switch (kind) {
      case meter_kind::rapl: return rapl_meter(config);
      case meter_kind::fake: return fake_meter(config);
    }
    return power_meter{};
  });
}

}  // namespace kepler
