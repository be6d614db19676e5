#include "sensors/platform/redfish_power.hpp"

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

namespace kepler {
namespace {

const std::string mockups = std::string(KEPLER_FIXTURES_DIR) + "/redfish";

/// Serves a mockup tree as a BMC would (`/redfish/v1/<P>` from `<root>/<P>/index.json`), with
/// bodies that tests may replace and a log of what was asked.
struct mockup_bmc {
  std::string root;
  std::map<std::string, std::string> overrides;  ///< path → body
  std::vector<std::string> asked;

  static std::string normal(std::string_view path) {
    std::string p(path);
    while (p.size() > 1 && p.back() == '/') p.pop_back();
    return p;
  }

  result<std::string> get(std::string_view path) {
    auto key = normal(path);
    asked.push_back(key);
    if (auto found = overrides.find(key); found != overrides.end()) return found->second;
    std::string rest = key == "/redfish/v1" ? "" : key.substr(std::string("/redfish/v1/").size());
    std::ifstream in(root + "/" + rest + (rest.empty() ? "" : "/") + "index.json");
    if (!in) return make_error(errc::http_status, "GET " + key + ": HTTP 404", 404);
    std::ostringstream text;
    text << in.rdbuf();
    return text.str();
  }

  redfish_power_reader reader() {
    return redfish_power_reader([this](std::string_view path) { return get(path); });
  }
};

redfish_poll read_ok(mockup_bmc& bmc) {
  auto reader = bmc.reader();
  auto poll = reader.read();
  INFO((poll.ok() ? reader.describe() : poll.error_message()));
  REQUIRE(poll.ok());
  return poll.value();
}

}  // namespace

TEST_CASE("public-rackmount1: v0.11's PowerControl series; the node from EnvironmentMetrics", "[redfish]") {
  mockup_bmc bmc{mockups + "/dmtf/public-rackmount1"};
  auto poll = read_ok(bmc);
  REQUIRE(poll.series.size() == 1);
  CHECK(poll.series[0].chassis_id == "1U");
  CHECK(poll.series[0].source_id == "0");
  CHECK(poll.series[0].source_name == "System Input Power");
  CHECK(poll.series[0].source_type == "PowerControl");
  CHECK(poll.series[0].watts == Approx(344));
  REQUIRE(poll.node);
  CHECK(poll.node->chassis_id == "1U");
  CHECK(poll.node->resource == "EnvironmentMetrics.PowerWatts");
  CHECK(poll.node->watts == Approx(374));
  CHECK_FALSE(poll.node->energy_joules);
}

TEST_CASE("public-smartnic (current schema only): readings where v0.11 finds none; the card is not the node",
          "[redfish]") {
  mockup_bmc bmc{mockups + "/dmtf/public-smartnic"};
  auto poll = read_ok(bmc);
  REQUIRE(poll.series.size() == 2);
  CHECK(poll.series[0].chassis_id == "1U");
  CHECK(poll.series[0].source_type == "EnvironmentMetrics");
  CHECK(poll.series[0].watts == Approx(374));
  CHECK(poll.series[1].chassis_id == "Card1");
  CHECK(poll.series[1].watts == Approx(374));
  REQUIRE(poll.node);
  CHECK(poll.node->chassis_id == "1U");  // Card1 sits inside 1U: adding both would count it twice
  CHECK(poll.node->watts == Approx(374));
}

TEST_CASE("public-tower: power supplies keyed by their path, not the Id in their body", "[redfish]") {
  mockup_bmc bmc{mockups + "/dmtf/public-tower"};
  auto poll = read_ok(bmc);
  REQUIRE(poll.series.size() == 1);
  CHECK(poll.series[0].watts == Approx(926));
  REQUIRE(poll.node);
  CHECK(poll.node->watts == Approx(974));

  // Without EnvironmentMetrics and Power, the node is the sum of the supplies' input.
  bmc.overrides["/redfish/v1/Chassis/Tower"] =
      R"({"Id":"Tower","ChassisType":"StandAlone","PowerSubsystem":{"@odata.id":"/redfish/v1/Chassis/Tower/PowerSubsystem"}})";
  auto supplies = read_ok(bmc);
  REQUIRE(supplies.series.size() == 2);
  CHECK(supplies.series[0].source_id == "Bay1");
  CHECK(supplies.series[1].source_id == "Bay2");
  CHECK(supplies.series[0].watts + supplies.series[1].watts == Approx(974.8));
  REQUIRE(supplies.node);
  CHECK(supplies.node->resource == "PowerSupplies[*].Metrics.InputPowerWatts");
  CHECK(supplies.node->watts == Approx(974.8));
}

TEST_CASE("Kepler's own mockup: v0.11's PowerSubsystem strategy with PowerOutputWatts", "[redfish]") {
  mockup_bmc bmc{mockups + "/kepler-testdata/hack/mockups/public-rackmount"};
  auto poll = read_ok(bmc);
  REQUIRE(poll.series.size() == 3);  // PS2 of each chassis reads 0 W and is skipped, as in v0.11
  std::vector<double> watts;
  for (const auto& s : poll.series) {
    CHECK(s.source_id == "PS1");
    CHECK(s.source_name == "Power Supply 1");
    CHECK(s.source_type == "PowerSupply");
    watts.push_back(s.watts);
  }
  CHECK(watts == std::vector<double>{245, 345, 445});
  REQUIRE(poll.node);
  CHECK(poll.node->chassis_id == "1U");
  CHECK(poll.node->resource == "Power.PowerControl[0].PowerConsumedWatts");
  CHECK(poll.node->watts == Approx(344));
}

TEST_CASE("vendor captures: Dell's string MemberId, HPE's chassis without Id", "[redfish]") {
  mockup_bmc dell{mockups + "/vendor/dell-poweredge-r640-idrac"};
  dell.overrides["/redfish/v1"] = R"({"Chassis":{"@odata.id":"/redfish/v1/Chassis"}})";
  dell.overrides["/redfish/v1/Chassis"] = R"({"Members":[{"@odata.id":"/redfish/v1/Chassis/System.Embedded.1"}]})";
  auto d = read_ok(dell);
  REQUIRE(d.series.size() == 1);
  CHECK(d.series[0].chassis_id == "System.Embedded.1");
  CHECK(d.series[0].source_id == "PowerControl");
  CHECK(d.series[0].source_name == "System Power Control");
  CHECK(d.series[0].watts == Approx(429));

  mockup_bmc hpe{mockups + "/vendor/hpe-proliant-gen10-ilo5"};
  hpe.overrides["/redfish/v1/Chassis"] = R"({"Members":[{"@odata.id":"/redfish/v1/Chassis/1"}]})";
  auto h = read_ok(hpe);
  REQUIRE(h.series.size() == 1);
  CHECK(h.series[0].chassis_id == "1");
  CHECK(h.series[0].source_id == "0");
  CHECK(h.series[0].source_name.empty());
  CHECK(h.series[0].watts == Approx(221));
  CHECK(h.node->watts == Approx(221));
}

TEST_CASE("polls after discovery read only what the figures need", "[redfish]") {
  mockup_bmc bmc{mockups + "/dmtf/public-tower"};
  auto reader = bmc.reader();
  REQUIRE(reader.read().ok());
  bmc.asked.clear();
  REQUIRE(reader.read().ok());
  CHECK(bmc.asked ==
        std::vector<std::string>{"/redfish/v1/Chassis/Tower/EnvironmentMetrics", "/redfish/v1/Chassis/Tower/Power"});
  CHECK_THAT(reader.describe(), Catch::Contains("the node's power from chassis Tower, EnvironmentMetrics.PowerWatts"));
}

TEST_CASE("an energy counter is preferred; numbers may come as strings", "[redfish]") {
  mockup_bmc bmc{mockups + "/dmtf/public-rackmount1"};
  bmc.overrides["/redfish/v1/Chassis/1U/EnvironmentMetrics"] =
      R"({"Id":"EnvironmentMetrics","PowerWatts":{"Reading":"412.5"},"EnergyJoules":{"Reading":123456789.25}})";
  auto poll = read_ok(bmc);
  REQUIRE(poll.node);
  CHECK(poll.node->resource == "EnvironmentMetrics.EnergyJoules");
  CHECK(poll.node->watts == Approx(412.5));
  REQUIRE(poll.node->energy_joules);
  CHECK(*poll.node->energy_joules == Approx(123456789.25));
}

TEST_CASE("bad answers are errors that name the resource", "[redfish]") {
  mockup_bmc bmc{mockups + "/dmtf/public-rackmount1"};
  auto reader = bmc.reader();
  REQUIRE(reader.read().ok());
  bmc.overrides["/redfish/v1/Chassis/1U/Power"] = "{invalid json";
  auto garbage = reader.read();
  REQUIRE_FALSE(garbage.ok());
  CHECK(garbage.error_kind() == errc::parse);
  CHECK_THAT(garbage.error_message(), Catch::Contains("/redfish/v1/Chassis/1U/Power"));

  mockup_bmc empty{mockups + "/dmtf/public-rackmount1"};
  empty.overrides["/redfish/v1/Chassis/1U"] = R"({"Id":"1U"})";
  auto nothing = empty.reader().read();
  REQUIRE_FALSE(nothing.ok());
  CHECK(nothing.error_kind() == errc::unavailable);
  CHECK_THAT(nothing.error_message(), Catch::Contains("no power reading on any chassis (tested 1 chassis"));

  mockup_bmc rootless{mockups + "/dmtf/public-rackmount1"};
  rootless.overrides["/redfish/v1"] = "[1, 2]";
  CHECK(rootless.reader().read().error_kind() == errc::parse);
}

}  // namespace kepler
