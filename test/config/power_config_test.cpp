// The power sources' settings: the fake meter, hwmon, the estimate and the platform (Redfish).

#include <catch2/catch.hpp>

#include "config/config.hpp"
#include "test/config/config_support.hpp"

using namespace kepler;
using namespace kepler::test;
using namespace std::chrono_literals;

TEST_CASE("redfish settings are read from the file and the flags, flags winning", "[config]") {
  scratch tmp;
  auto bmcs = tmp.write("redfish.yaml", "nodes: {n1: b}\nbmcs: {b: {endpoint: https://10.0.0.1}}\n");
  auto file = tmp.config(
      "experimental:\n  platform:\n    redfish:\n      enabled: true\n      nodeName: ' from-file '\n"
      "      configFile: " +
      bmcs +
      "\n      httpTimeout: 2s\n      pollInterval: 15s\n      staleness: 45s\n"
      "    acpi:\n      enabled: false\n    attributeToWorkloads: true\n");
  auto out = load({"--config.file=" + file});
  INFO(out.message);
  REQUIRE(runs(out));
  const auto& platform = out.config.platform;
  CHECK(platform.redfish.enabled);
  CHECK(platform.redfish.node_name == "from-file");
  CHECK(platform.redfish.config_file == bmcs);
  CHECK(platform.redfish.http_timeout == std::chrono::seconds(2));
  CHECK(platform.redfish.poll_interval == std::chrono::seconds(15));
  CHECK(platform.redfish.staleness == std::chrono::seconds(45));
  CHECK_FALSE(platform.acpi.enabled);
  CHECK(platform.attribute_workloads);
  CHECK(out.warnings.empty());

  auto flags = load({"--config.file=" + file, "--experimental.platform.redfish.node-name=n1",
                     "--no-experimental.platform.redfish.enabled"});
  REQUIRE(runs(flags));
  CHECK(flags.config.platform.redfish.node_name == "n1");
  CHECK_FALSE(flags.config.platform.redfish.enabled);
}

TEST_CASE("redfish needs a readable BMC file and sane intervals when enabled", "[config]") {
  scratch tmp;
  auto errors_of = [&](const std::string& redfish) {
    auto out = load({"--config.file=" + tmp.config("experimental:\n  platform:\n    redfish:\n" + redfish)});
    return out.message;
  };
  CHECK_THAT(errors_of("      enabled: true\n"),
             Catch::Contains("experimental.platform.redfish.configFile is required when Redfish is enabled"));
  CHECK_THAT(errors_of("      enabled: true\n      configFile: /nope\n"),
             Catch::Contains("experimental.platform.redfish.configFile \"/nope\" is not a readable file"));
  auto bmcs = tmp.write("redfish.yaml", "nodes: {n1: b}\n");
  CHECK_THAT(errors_of("      enabled: true\n      configFile: " + bmcs + "\n      pollInterval: 90s\n"),
             Catch::Contains("staleness must be ≥ experimental.platform.redfish.pollInterval"));
  CHECK_THAT(errors_of("      enabled: true\n      configFile: " + bmcs + "\n      httpTimeout: 0s\n"),
             Catch::Contains("httpTimeout must be > 0"));
  // Disabled, nothing is checked (as in Kepler).
  auto off =
      load({"--config.file=" + tmp.config("experimental:\n  platform:\n    redfish:\n      configFile: /nope\n")});
  CHECK(runs(off));
}

TEST_CASE("dev.fake-cpu-meter.enabled is an alias of preferredMeters = fake", "[config]") {
  scratch tmp;
  auto file = tmp.config("dev:\n  fake-cpu-meter:\n    enabled: true\n    zones: [package]\n");
  auto out = load({"--config.file=" + file});
  REQUIRE(runs(out));
  CHECK(out.config.cpu.preferred_meters == std::vector{meter_kind::fake});
  CHECK(out.config.fake_cpu_meter.enabled);
  CHECK(out.config.fake_cpu_meter.zones == strings{"package"});
  CHECK(out.warnings.empty());
}

TEST_CASE("experimental.hwmon.enabled, in the file or as a flag, means preferredMeters = hwmon", "[config]") {
  scratch tmp;
  CHECK(load({}).config.cpu.preferred_meters ==
        std::vector{meter_kind::rapl, meter_kind::msr, meter_kind::hwmon, meter_kind::estimate});
  auto file = load({"--config.file=" + tmp.config("experimental:\n  hwmon:\n    enabled: true\n")});
  REQUIRE(runs(file));
  CHECK(file.config.cpu.preferred_meters == std::vector{meter_kind::hwmon});
  auto flag = load({"--experimental.hwmon.enabled"});
  REQUIRE(runs(flag));
  CHECK(flag.config.hwmon.enabled);
  CHECK(flag.config.cpu.preferred_meters == std::vector{meter_kind::hwmon});
}

TEST_CASE("hwmon chip rules are read in Kepler's form plus zones and an energy range", "[config]") {
  scratch tmp;
  auto file = tmp.config(
      "experimental:\n  hwmon:\n    zones: [package]\n    chipRules:\n"
      "      - name: ina3221\n        useSameIndex: true\n        skipVoltages: [4, 5, 6, 7]\n"
      "        zones: {in1: package, VDD_SOC: platform}\n"
      "      - name: max20730\n        pairings: {2: 1}\n        skipCurrents: [3]\n"
      "        energyRangeMicrojoules: 4294967296\n");
  auto out = load({"--config.file=" + file});
  REQUIRE(runs(out));
  const auto& rules = out.config.hwmon.chip_rules;
  REQUIRE(rules.size() == 2);
  CHECK(rules[0].chip == "ina3221");
  CHECK(rules[0].same_index);
  CHECK(rules[0].skip_voltages == std::vector<int>{4, 5, 6, 7});
  CHECK(rules[0].zones == std::map<std::string, std::string>{{"in1", "package"}, {"VDD_SOC", "platform"}});
  CHECK(rules[1].pairings == std::map<int, int>{{2, 1}});
  CHECK(rules[1].skip_currents == std::vector<int>{3});
  CHECK(rules[1].energy_range_uj == 4294967296u);
  CHECK(out.config.hwmon.zones == strings{"package"});

  auto printed = to_yaml(out.config);
  auto again = load({"--config.file=" + tmp.write("printed.yaml", printed)});
  REQUIRE(runs(again));
  CHECK(to_yaml(again.config) == printed);
}

TEST_CASE("a broken hwmon chip rule is an error naming it and its line", "[config]") {
  scratch tmp;
  auto out = load({"--config.file=" + tmp.config("experimental:\n  hwmon:\n    chipRules:\n"
                                                 "      - useSameIndex: maybe\n"
                                                 "      - name: x\n        pairings: [1, 2]\n")});
  REQUIRE(fails(out));
  CHECK_THAT(out.message, Catch::Contains("experimental.hwmon.chipRules[0].useSameIndex \"maybe\" is not a boolean"));
  CHECK_THAT(out.message, Catch::Contains("experimental.hwmon.chipRules[0]: a chip rule needs a name (line 7)"));
  auto not_a_list = load({"--config.file=" + tmp.config("experimental:\n  hwmon:\n    chipRules: ina226\n")});
  REQUIRE(fails(not_a_list));
  CHECK_THAT(not_a_list.message, Catch::Contains("experimental.hwmon.chipRules: expected a list of chip rules"));
}

TEST_CASE("estimate.* overrides are read from the file", "[config]") {
  scratch tmp;
  auto out = load({"--config.file=" + tmp.config("cpu:\n  preferredMeters: [rapl, estimate]\n"
                                                 "estimate:\n  curve: [[0, 15], [10, 40], [50, 93.75], [100, 127.5]]\n"
                                                 "  instanceType: '  n1-standard-4 '\n")});
  REQUIRE(runs(out));
  CHECK(out.config.cpu.preferred_meters == std::vector{meter_kind::rapl, meter_kind::estimate});
  CHECK(out.config.estimate.curve == std::vector<load_watts>{{0, 15}, {10, 40}, {50, 93.75}, {100, 127.5}});
  CHECK(out.config.estimate.instance_type == "n1-standard-4");  // trimmed
  CHECK(out.config.estimate.tdp_watts == 0);

  auto linear = load({"--config.file=" + tmp.config("estimate:\n  idleWatts: 20\n  maxWatts: 80.5\n")});
  REQUIRE(runs(linear));
  CHECK(linear.config.estimate.idle_watts == 20);
  CHECK(linear.config.estimate.max_watts == 80.5);

  auto tdp = load({"--config.file=" + tmp.config("estimate:\n  tdpWatts: 125\n")});
  REQUIRE(runs(tdp));
  CHECK(tdp.config.estimate.tdp_watts == 125);
}

TEST_CASE("a malformed estimate.curve is an error naming the entry", "[config]") {
  scratch tmp;
  auto message = [&tmp](const std::string& curve) { return refusal(tmp, "estimate:\n  curve: " + curve + "\n"); };
  CHECK_THAT(message("15"), Catch::Contains("estimate.curve: expected a list of [load %, watts] pairs"));
  CHECK_THAT(message("[[0, 15], [100]]"), Catch::Contains("estimate.curve entry 2: expected a pair [load %, watts]"));
  CHECK_THAT(message("[[0, 15], {a: 1}]"), Catch::Contains("estimate.curve entry 2: expected a pair"));
  CHECK_THAT(message("[[0, 15], [100, lots]]"), Catch::Contains("estimate.curve entry 2: \"lots\" is not a number"));
  CHECK_THAT(message("[[0, 15]]"), Catch::Contains("estimate.curve needs at least two points"));
  CHECK_THAT(message("[[0, 15], [50, 30], [50, 40], [100, 50]]"),
             Catch::Contains("estimate.curve entry 3: loads must rise from one point to the next"));
  CHECK_THAT(message("[[0, 15], [120, 30]]"), Catch::Contains("estimate.curve entry 2: load must be 0..100 %"));
  CHECK_THAT(message("[[10, 15], [100, 30]]"),
             Catch::Contains("estimate.curve must start at 0 % load and end at 100 %"));
  CHECK_THAT(message("[[0, -1], [100, 30]]"), Catch::Contains("estimate.curve entry 1: watts must be ≥ 0"));
  CHECK_THAT(message("[[0, .nan], [100, 30]]"), Catch::Contains("estimate.curve entry 1: watts must be ≥ 0"));
}

TEST_CASE("estimate overrides must be non-negative, complete and one at a time", "[config]") {
  scratch tmp;
  auto message = [&tmp](const std::string& estimate) { return refusal(tmp, "estimate:\n" + estimate); };
  CHECK_THAT(message("  tdpWatts: -5\n"), Catch::Contains("estimate.tdpWatts must be a number ≥ 0"));
  CHECK_THAT(message("  tdpWatts: many\n"), Catch::Contains("estimate.tdpWatts \"many\" is not a number"));
  CHECK_THAT(message("  maxWatts: .inf\n"), Catch::Contains("estimate.maxWatts must be a number ≥ 0"));
  CHECK_THAT(message("  idleWatts: 20\n"), Catch::Contains("estimate.idleWatts needs estimate.maxWatts"));
  CHECK_THAT(message("  idleWatts: 90\n  maxWatts: 80\n"),
             Catch::Contains("estimate.maxWatts must be ≥ estimate.idleWatts"));
  CHECK_THAT(message("  tdpWatts: 125\n  maxWatts: 80\n"),
             Catch::Contains("set only one of estimate.curve, estimate.maxWatts (with estimate.idleWatts) and "
                             "estimate.tdpWatts"));
  CHECK_THAT(message("  curve: [[0, 1], [100, 2]]\n  tdpWatts: 125\n"), Catch::Contains("set only one of"));
  CHECK_THAT(message("  curve: [[0, 1], [100, 2]]\n  tdpWatts: 125\n"),
             !Catch::Contains("estimate.curve entry"));  // the curve itself is fine
}

TEST_CASE("to_yaml prints estimate.curve as pairs that load back", "[config]") {
  scratch tmp;
  auto first = load({"--config.file=" + tmp.config("estimate:\n  curve: [[0, 30], [50, 100.5], [100, 150]]\n")});
  REQUIRE(runs(first));
  auto printed = to_yaml(first.config);
  CHECK_THAT(printed, Catch::Contains("curve: [[0, 30], [50, 100.5], [100, 150]]"));
  CHECK_THAT(printed, Catch::Contains("tdpWatts: 0"));
  auto second = load({"--config.file=" + tmp.write("printed.yaml", printed)});
  REQUIRE(runs(second));
  CHECK(second.config.estimate.curve == first.config.estimate.curve);
  CHECK(to_yaml(second.config) == printed);
  CHECK_THAT(to_yaml(kepler_config{}), Catch::Contains("curve: []"));
}
