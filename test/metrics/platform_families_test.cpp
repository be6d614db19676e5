// The whole node's power as exported: v0.11's kepler_platform_watts, our platform energy and
// BMC health, and the platform kept out of the CPU families.
#include <set>
#include <sstream>
#include <string>

#include <catch2/catch.hpp>

#include "config/config.hpp"
#include "metrics/renderer.hpp"
#include "test/support/process_info.hpp"

using namespace kepler;

namespace {

/// One process on a node with a package zone (30 W) and a platform zone (200 W).
snapshot platform_snapshot() {
  snapshot snap;
  snap.zones.push_back(node_zone_stats{"package", "/sys/class/powercap/intel-rapl:0", 150'000'000, 37'500'000,
                                       112'500'000, 0, 30, 7.5, 22.5, 0, 0});
  node_zone_stats platform{
      "platform", "redfish:bmc-1", 1'000'000'000, 250'000'000, 750'000'000, 50'000'000, 200, 50, 150, 10, 0};
  platform.platform = true;
  snap.zones.push_back(platform);
  snap.sockets.push_back(socket_zone_stats{"package", 0, "/sys/class/powercap/intel-rapl:0", 150'000'000, 30});
  snap.sockets.push_back(socket_zone_stats{"platform", 0, "redfish:bmc-1", 1'000'000'000, 200, true});
  auto info = std::make_shared<process_info>(testing::regular_process("burner", "/usr/bin/burner"));
  snap.running.push_back(process_row{{4242, 7}, info, 37'500'000'000, 0, 0});
  snap.running_energy_uj = {9'375'000, 200'000'000};
  snap.running_watts = {1.875, 40};
  platform_report report;
  report.source = "redfish";
  report.bmc_id = "bmc-1";
  report.series.push_back(redfish_series{"1U", "0", "System Input Power", "PowerControl", 344});
  report.reading_age_seconds = 1.5;
  report.resource = "EnvironmentMetrics.PowerWatts";
  report.method = "integrated_power";
  report.errors = {{"auth", 0}, {"timeout", 2}};
  snap.platform.push_back(report);
  return snap;
}

render_context platform_context(const std::string& source, bool workloads) {
  render_context ctx;
  ctx.node_name = "node-a";
  ctx.platform_source = source;
  ctx.platform_workloads = workloads;
  return ctx;
}

bool has_line(const std::string& text, const std::string& line) {
  return text.find("\n" + line + "\n") != std::string::npos;
}

/// The families of the samples that carry `label`.
std::set<std::string> families_with(const std::string& text, const std::string& label) {
  std::set<std::string> names;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);)
    if (!line.starts_with("#") && line.find(label) != std::string::npos) names.insert(line.substr(0, line.find('{')));
  return names;
}

}  // namespace

TEST_CASE("the platform is exported as v0.11's kepler_platform_watts and ours, never as a CPU zone") {
  auto text = render_metrics(platform_snapshot(), platform_context("redfish", false));
  CHECK(has_line(text,
                 "kepler_platform_watts{source=\"redfish\",node_name=\"node-a\",bmc_id=\"bmc-1\",chassis_id=\"1U\","
                 "source_id=\"0\",source_name=\"System Input Power\",source_type=\"PowerControl\"} 344"));
  CHECK(has_line(text, "kepler_platform_joules_total{source=\"redfish\",node_name=\"node-a\"} 1000"));
  CHECK(has_line(text, "kepler_node_platform_active_joules_total{node_name=\"node-a\"} 250"));
  CHECK(has_line(text, "kepler_node_platform_idle_joules_total{node_name=\"node-a\"} 750"));
  CHECK(has_line(text, "kepler_node_platform_unattributed_joules_total{node_name=\"node-a\"} 50"));
  CHECK(has_line(text, "kepler_node_platform_minus_cpu_watts{node_name=\"node-a\"} 170"));
  CHECK(has_line(text,
                 "kepler_platform_source_info{source=\"redfish\",bmc_id=\"bmc-1\","
                 "resource=\"EnvironmentMetrics.PowerWatts\",method=\"integrated_power\"} 1"));
  CHECK(has_line(text, "kepler_platform_reading_age_seconds{source=\"redfish\",bmc_id=\"bmc-1\"} 1.5"));
  CHECK(has_line(text, "kepler_platform_errors_total{source=\"redfish\",bmc_id=\"bmc-1\",kind=\"timeout\"} 2"));
  // Not in kepler_*_cpu_*, no per-workload families: only the conservation check names the zone.
  CHECK(families_with(text, "zone=\"platform\"") == std::set<std::string>{"kepler_energy_conservation_error_joules"});
  CHECK(text.find("kepler_process_platform") == std::string::npos);
  CHECK(has_line(text,
                 "kepler_node_cpu_joules_total{zone=\"package\",path=\"/sys/class/powercap/intel-rapl:0\","
                 "node_name=\"node-a\"} 150"));
}

TEST_CASE("with attributeToWorkloads, each workload level gets its platform families") {
  auto text = render_metrics(platform_snapshot(), platform_context("redfish", true));
  CHECK(has_line(text,
                 "kepler_process_platform_joules_total{pid=\"4242\",comm=\"burner\",exe=\"/usr/bin/burner\","
                 "type=\"regular\",state=\"running\",container_id=\"\",vm_id=\"\",zone=\"platform\","
                 "node_name=\"node-a\"} 200"));
  CHECK(has_line(text,
                 "kepler_process_platform_watts{pid=\"4242\",comm=\"burner\",exe=\"/usr/bin/burner\","
                 "type=\"regular\",state=\"running\",container_id=\"\",vm_id=\"\",zone=\"platform\","
                 "node_name=\"node-a\"} 40"));
  CHECK(text.find("# TYPE kepler_container_platform_joules_total counter") != std::string::npos);
  CHECK(text.find("# TYPE kepler_vm_platform_watts gauge") != std::string::npos);
  // The CPU families still carry the package zone only.
  CHECK(text.find("kepler_process_cpu_joules_total{pid=\"4242\",comm=\"burner\",exe=\"/usr/bin/burner\","
                  "type=\"regular\",state=\"running\",container_id=\"\",vm_id=\"\",zone=\"platform\"") ==
        std::string::npos);
}

TEST_CASE("the ACPI power meter is a kepler_platform_watts series of its own") {
  auto snap = platform_snapshot();
  snap.platform.clear();
  auto text = render_metrics(snap, platform_context("acpi", false));
  CHECK(has_line(text,
                 "kepler_platform_watts{source=\"acpi\",node_name=\"node-a\",bmc_id=\"\",chassis_id=\"\","
                 "source_id=\"power1\",source_name=\"ACPI power meter\",source_type=\"ACPIPowerMeter\"} 200"));
  CHECK(has_line(text, "kepler_platform_joules_total{source=\"acpi\",node_name=\"node-a\"} 1000"));
  CHECK(text.find("kepler_platform_errors_total") == std::string::npos);
}

TEST_CASE("without a platform source nothing of the platform is exported") {
  snapshot snap;
  snap.zones.push_back(node_zone_stats{"package", "p", 1, 1, 0, 0, 1, 1, 0, 0, 0});
  auto text = render_metrics(snap, platform_context("", true));
  CHECK(text.find("platform") == std::string::npos);
}
