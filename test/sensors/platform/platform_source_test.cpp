#include "sensors/platform/platform_source.hpp"

#include <catch2/catch.hpp>

#include "test/sensors/test_support.hpp"

using namespace kepler;
using kepler::test::temp_dir;

namespace {

/// A node with an ACPI power meter, and Redfish pointing at a BMC file written in `dir`.
kepler_config node_with(const temp_dir& dir, const std::string& bmc_file) {
  kepler_config config;
  config.host.sysfs = kepler::test::fixtures_dir() + "/acpi_power_meter/sys";
  config.platform.redfish.enabled = true;
  config.platform.redfish.config_file = dir.write("redfish.yaml", bmc_file);
  return config;
}

const std::string one_node = "nodes: {node-a: bmc-1}\nbmcs: {bmc-1: {endpoint: https://10.0.0.11}}\n";

}  // namespace

TEST_CASE("the BMC that the file names for this node gives the platform zone") {
  temp_dir dir;
  auto config = node_with(dir, one_node);
  auto chosen = select_platform_source(config, "node-a");
  CHECK(chosen.source == "redfish");
  REQUIRE(chosen.bmc);
  CHECK(chosen.bmc->endpoint == "https://10.0.0.11");
  REQUIRE(chosen.feed);
  REQUIRE(chosen.zone);
  CHECK(chosen.zone->zone.platform);
  CHECK(chosen.zone->zone.path == "redfish:bmc-1");
  CHECK(chosen.zone->make_reader()().error_kind() == errc::unavailable);  // no reading yet
  REQUIRE(chosen.notes.size() == 1);
  CHECK(chosen.notes[0].text == "Redfish: node node-a is measured by BMC bmc-1 at https://10.0.0.11");
}

TEST_CASE("the Redfish node name wins over Kubernetes' and the host's") {
  temp_dir dir;
  auto config = node_with(dir, one_node);
  config.kube.node_name = "node-b";
  CHECK(select_platform_source(config, "node-a").source == "acpi");  // node-b is not in the file
  config.platform.redfish.node_name = "node-a";
  CHECK(select_platform_source(config, "host").source == "redfish");
}

TEST_CASE("a node the BMC file does not name runs on the ACPI power meter, with a warning") {
  temp_dir dir;
  auto config = node_with(dir, one_node);
  auto chosen = select_platform_source(config, "node-z");
  CHECK(chosen.source == "acpi");
  CHECK_FALSE(chosen.bmc);
  REQUIRE(chosen.zone);
  REQUIRE(chosen.notes.size() == 2);
  CHECK(chosen.notes[0].warning);
  CHECK(chosen.notes[0].text ==
        "Redfish: node \"node-z\" is not in the Redfish file's nodes; running without the BMC's power");
  config.platform.acpi.enabled = false;
  CHECK(select_platform_source(config, "node-z").source.empty());
}

TEST_CASE("a BMC shared by several nodes is polled but not attributed") {
  temp_dir dir;
  auto config = node_with(dir, "nodes: {blade-1: cmc, blade-2: cmc}\nbmcs: {cmc: {endpoint: http://10.0.0.2}}\n");
  auto chosen = select_platform_source(config, "blade-1");
  CHECK(chosen.source == "redfish");
  CHECK(chosen.bmc);
  CHECK_FALSE(chosen.zone);
  CHECK_THAT(chosen.notes.back().text, Catch::Contains("BMC cmc measures 2 nodes together"));
}

TEST_CASE("a broken BMC file is a warning that names it") {
  temp_dir dir;
  auto config = node_with(dir, "nodes: {}\n");
  auto chosen = select_platform_source(config, "node-a");
  CHECK(chosen.source == "acpi");
  CHECK_THAT(chosen.notes[0].text, Catch::Contains("redfish.yaml\": no nodes configured; no BMCs configured"));
}
