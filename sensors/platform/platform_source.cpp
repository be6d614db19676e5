#include "sensors/platform/platform_source.hpp"

#include "base/clock.hpp"

namespace kepler {
namespace {

/// A zone whose readings are the BMC's energy feed, read at once (the poller does the waiting).
zone_source redfish_zone(const redfish_bmc& bmc, const std::shared_ptr<platform_feed>& feed) {
  physical_zone zone{"platform", 0, "redfish:" + bmc.id, 0, platform_max_plausible_watts};
  zone.platform = true;
  auto reader = [feed]() -> energy_read_fn { return [feed] { return feed->energy_uj(monotonic_now_ns()); }; };
  return zone_source{zone, "platform", reader, zone_provenance{meter_method::integrated_power, "", ""}};
}

std::optional<platform_source> redfish_source(const kepler_config& config, std::string_view host_name,
                                              std::vector<log_note>& notes) {
  const auto& settings = config.platform.redfish;
  auto node = redfish_node_name(settings.node_name, config.kube.node_name, host_name);
  auto file = load_redfish_file(settings.config_file);
  auto bmc = file ? bmc_for_node(file.value(), node) : result<redfish_bmc>(file.error());
  if (!bmc) {
    notes.push_back({true, "Redfish: " + bmc.error_message() + "; running without the BMC's power"});
    return std::nullopt;
  }
  platform_source out;
  out.source = "redfish";
  out.bmc = bmc.value();
  out.feed = std::make_shared<platform_feed>(bmc.value().id, settings.staleness);
  auto sharing = nodes_of_bmc(file.value(), bmc.value().id);
  if (sharing.size() > 1) {
    notes.push_back({false, "Redfish: BMC " + bmc.value().id + " measures " + std::to_string(sharing.size()) +
                                " nodes together; its power is exported, not attributed to workloads"});
    return out;
  }
  out.zone = redfish_zone(bmc.value(), out.feed);
  notes.push_back(
      {false, "Redfish: node " + node + " is measured by BMC " + bmc.value().id + " at " + bmc.value().endpoint});
  return out;
}

}  // namespace

platform_source select_platform_source(const kepler_config& config, std::string_view host_name) {
  std::vector<log_note> notes;
  std::optional<platform_source> chosen;
  if (config.platform.redfish.enabled) chosen = redfish_source(config, host_name, notes);
  if (!chosen) {
    chosen.emplace();
    if (config.platform.acpi.enabled) chosen->zone = acpi_power_meter_zone(config, notes);
    if (chosen->zone) chosen->source = "acpi";
  }
  chosen->notes = std::move(notes);
  return std::move(*chosen);
}

}  // namespace kepler
