#include "sensors/power/hwmon.hpp"

#include <catch2/catch.hpp>

#include <algorithm>

#include "test/sensors/test_support.hpp"

using namespace kepler;
using kepler::test::temp_dir;

namespace {

std::string fixture_sysfs() { return kepler::test::fixtures_dir() + "/hwmon/sys"; }

std::string kind_text(hwmon_channel_kind kind) {
  switch (kind) {
    case hwmon_channel_kind::energy: return "counter";
    case hwmon_channel_kind::power: return "power";
    case hwmon_channel_kind::voltage_current: return "pair";
  }
  return "?";
}

const hwmon_channel* find_zone(const hwmon_discovery& found, const std::string& zone) {
  for (const auto& channel : found.channels)
    if (channel.zone == zone) return &channel;
  return nullptr;
}

}  // namespace

TEST_CASE("every hwmon fixture chip yields the zones, kinds and values of its truth table", "[hwmon]") {
  auto found = discover_hwmon(fixture_sysfs(), {}, {});
  auto expected = kepler::test::read_tsv(kepler::test::fixtures_dir() + "/hwmon/expected.tsv");
  REQUIRE(found.channels.size() == expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    const auto& want = expected[i];
    const auto& got = found.channels[i];
    INFO(want.at("dir") << " " << want.at("channel"));
    CHECK(got.zone == want.at("zone"));
    CHECK(got.id == want.at("channel"));
    CHECK(kind_text(got.kind) == want.at("kind"));
    CHECK(got.path.find("/" + want.at("dir") + "/") != std::string::npos);
    auto value = read_hwmon_value(got);
    REQUIRE(value.ok());
    CHECK(std::to_string(value.value()) == want.at("value"));
  }
}

TEST_CASE("a chip's average power is read rather than its instant power", "[hwmon]") {
  auto found = discover_hwmon(fixture_sysfs(), {}, {"GPU"});
  REQUIRE(found.channels.size() == 1);
  CHECK(found.channels[0].path.ends_with("power1_average"));
  CHECK(read_hwmon_value(found.channels[0]).value() == 118'000'000u);  // not power1_input's 120 W
}

TEST_CASE("a chip with energy counters is read through them, not its power readings", "[hwmon]") {
  temp_dir t;
  t.write("class/hwmon/hwmon0/name", "amd_energy\n");
  t.write("class/hwmon/hwmon0/energy1_input", "1000\n");
  t.write("class/hwmon/hwmon0/energy1_label", "Esocket0\n");
  t.write("class/hwmon/hwmon0/power1_input", "5000000\n");
  auto found = discover_hwmon(t.root(), {}, {});
  REQUIRE(found.channels.size() == 1);
  CHECK(found.channels[0].kind == hwmon_channel_kind::energy);
  CHECK(found.channels[0].zone == "esocket0");
}

TEST_CASE("chip rules map channels to zones, give counters their range and pair voltages", "[hwmon]") {
  hwmon_chip_rule platform{"platform_sensor", {}, {}, {}, false, {{"power1", "platform"}}, 0};
  hwmon_chip_rule energy{"energy_meter", {}, {}, {}, false, {{"Total", "package"}}, 1ull << 32};
  hwmon_chip_rule max20730{"MAX20730", {{1, 1}}, {}, {}, false, {}, 0};  // overrides the built-in in2 ↔ curr1
  auto found = discover_hwmon(fixture_sysfs(), {platform, energy, max20730}, {});
  const auto* mapped = find_zone(found, "platform");
  REQUIRE(mapped);
  CHECK(mapped->id == "power1");
  auto packages = std::count_if(found.channels.begin(), found.channels.end(),
                                [](const hwmon_channel& c) { return c.zone == "package"; });
  CHECK(packages == 2);  // k10temp's `Package` label and energy_meter's `Total`, mapped
  auto counter = std::find_if(found.channels.begin(), found.channels.end(),
                              [](const hwmon_channel& c) { return c.chip == "energy_meter"; });
  REQUIRE(counter != found.channels.end());
  CHECK(counter->energy_range_uj == 1ull << 32);
  const auto* paired = find_zone(found, "max20730_in1");
  REQUIRE(paired);
  CHECK(read_hwmon_value(*paired).value() == 48'000u * 10'000u);  // in1 (48 V) × curr1 (10 A), as the rule says
}

TEST_CASE("the zone filter keeps the named zones, case-insensitively, and says when none is left", "[hwmon]") {
  auto kept = discover_hwmon(fixture_sysfs(), {}, {"Package", " core "});
  REQUIRE(kept.channels.size() == 2);
  CHECK(kept.channels[0].zone == "package");
  CHECK(kept.channels[1].zone == "core");
  auto none = discover_hwmon(fixture_sysfs(), {}, {"nothing"});
  CHECK(none.channels.empty());
  REQUIRE(none.warnings.size() == 1);
  CHECK(none.warnings[0] == "no hwmon zones left after filtering (experimental.hwmon.zones: nothing)");
}

TEST_CASE("without a hwmon tree discovery finds nothing and says where it looked", "[hwmon]") {
  temp_dir t;
  auto found = discover_hwmon(t.root(), {}, {});
  CHECK(found.channels.empty());
  REQUIRE(found.warnings.size() == 1);
  CHECK(found.warnings[0] == "no hwmon tree at " + t.root() + "/class/hwmon");
}

TEST_CASE("a broken channel value is an error naming the file", "[hwmon]") {
  temp_dir t;
  t.write("class/hwmon/hwmon0/name", "ina226\n");
  t.write("class/hwmon/hwmon0/in1_input", "12000\n");
  t.write("class/hwmon/hwmon0/curr1_input", "-500\n");  // current flowing backwards
  t.write("class/hwmon/hwmon0/power2_input", "12ab\n");
  auto found = discover_hwmon(t.root(), {}, {});
  REQUIRE(found.channels.size() == 1);  // power2 wins over the pair: a chip's power channels come first
  auto garbage = read_hwmon_value(found.channels[0]);
  REQUIRE_FALSE(garbage.ok());
  CHECK_THAT(garbage.error_message(), Catch::Contains(t.path("class/hwmon/hwmon0/power2_input")));
  t.remove("class/hwmon/hwmon0/power2_input");
  auto pairs = discover_hwmon(t.root(), {}, {});
  REQUIRE(pairs.channels.size() == 1);
  auto negative = read_hwmon_value(pairs.channels[0]);
  REQUIRE_FALSE(negative.ok());
  CHECK_THAT(negative.error_message(), Catch::Contains("negative power"));
}

TEST_CASE("hwmon names are cleaned as Kepler cleans them", "[hwmon]") {
  CHECK(clean_hwmon_name(" VDD_CPU ") == "vdd_cpu");
  CHECK(clean_hwmon_name("Sensor A (12V)") == "sensor_a__12v");
  CHECK(clean_hwmon_name("--") == "");
  CHECK(clean_hwmon_name("pci0000:00") == "pci0000:00");
}
