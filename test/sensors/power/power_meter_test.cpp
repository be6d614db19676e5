// Meter choice: the ladder on its own, and on a real powercap tree and an empty one.
#include "sensors/power/power_meter.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "test/sensors/test_support.hpp"

using namespace kepler;
using kepler::test::temp_dir;

namespace {

/// A meter with `zones` named zones (none: unusable) and one note naming it.
power_meter meter_with(const std::string& source, int zones) {
  power_meter meter;
  meter.source = source;
  for (int i = 0; i < zones; ++i)
    meter.zones.push_back(zone_source{physical_zone{"package", i, "", 0, 0}, "package", {}, ""});
  meter.notes.push_back({zones == 0, source + " looked at"});
  return meter;
}

std::vector<std::string> note_texts(const power_meter& meter) {
  std::vector<std::string> texts;
  for (const auto& note : meter.notes) texts.push_back(note.text);
  return texts;
}

}  // namespace

TEST_CASE("the first meter of the ladder with a usable zone wins; later ones are not looked at") {
  std::vector<meter_kind> asked;
  auto chosen = choose_power_meter({meter_kind::rapl, meter_kind::fake}, [&](meter_kind kind) {
    asked.push_back(kind);
    return meter_with(std::string(to_string(kind)), 2);
  });
  CHECK(chosen.source == "rapl");
  CHECK(chosen.zones.size() == 2);
  CHECK(asked == std::vector{meter_kind::rapl});
}

TEST_CASE("a meter without zones passes to the next, and the notes of both are kept in order") {
  auto chosen = choose_power_meter({meter_kind::rapl, meter_kind::fake}, [](meter_kind kind) {
    return meter_with(std::string(to_string(kind)), kind == meter_kind::rapl ? 0 : 3);
  });
  CHECK(chosen.source == "fake");
  CHECK(chosen.zones.size() == 3);
  CHECK(note_texts(chosen) == std::vector<std::string>{"rapl looked at", "fake looked at"});
}

TEST_CASE("no usable meter leaves none, with a warning that says so after the others' notes") {
  auto chosen = choose_power_meter({meter_kind::rapl}, [](meter_kind) { return meter_with("rapl", 0); });
  CHECK(chosen.source.empty());
  CHECK(chosen.zones.empty());
  REQUIRE(chosen.notes.size() == 2);
  CHECK(chosen.notes.back().warning);
  CHECK(chosen.notes.back().text == "no power meter available; serving CPU time and health only");
}

TEST_CASE("on a real powercap tree RAPL is chosen with each readable zone") {
  kepler_config config;
  config.host.sysfs = kepler::test::fixtures_dir() + "/powercap/procfs_i7-8650U_laptop/sys";
  auto chosen = select_power_meter(config);
  CHECK(chosen.source == "rapl");
  CHECK(chosen.method == meter_method::counter);  // a measurement: no model
  std::vector<std::string> labels;
  for (const auto& zone : chosen.zones) labels.push_back(zone.label);
  CHECK(labels == std::vector<std::string>{"core-0", "package-0", "package-10"});
  for (const auto& zone : chosen.zones) {
    auto read = zone.make_reader()();
    REQUIRE(read.ok());
    CHECK(read.value() > 0);
    CHECK(zone.model.empty());
  }
}

TEST_CASE("without powercap the fake meter takes over and says it is an estimate") {
  temp_dir empty_sysfs;
  temp_dir procfs;
  procfs.write("stat", "cpu  100 0 50 800 0 0 0 0 0 0\nbtime 1\n");
  kepler_config config;
  config.host.sysfs = empty_sysfs.root();
  config.host.procfs = procfs.root();
  auto chosen = select_power_meter(config);
  CHECK(chosen.source == "fake-cpu-meter");
  CHECK(chosen.method == meter_method::estimate);
  REQUIRE(chosen.zones.size() == 3);  // package, core, dram
  // The page says what each estimate is: the zone's scale of the package model.
  CHECK(chosen.zones[0].model == "1 × (10 W + 50 W × CPU usage)");
  CHECK(chosen.zones[1].model == "0.7 × (10 W + 50 W × CPU usage)");
  CHECK(chosen.zones[2].model == "0.15 × (10 W + 50 W × CPU usage)");
  auto texts = note_texts(chosen);
  REQUIRE(texts.size() >= 2);  // RAPL's (what it could not list, that it found nothing), then the fake's
  CHECK(texts[texts.size() - 2] == "no readable RAPL zones under " + config.host.sysfs + "/class/powercap");
  CHECK(texts.back().starts_with("using fake-cpu-meter: estimated power (10 W idle to 60 W busy"));
  CHECK_FALSE(chosen.notes.back().warning);
}
