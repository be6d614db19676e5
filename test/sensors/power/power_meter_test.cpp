// Meter choice: the ladder on its own, and on a real powercap tree and an empty one.
#include "sensors/power/power_meter.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "sensors/power/msr.hpp"
#include "sensors/power/sysfs_value.hpp"
#include "test/sensors/power/msr_machine.hpp"
#include "test/sensors/test_support.hpp"

using namespace kepler;
using kepler::test::temp_dir;

namespace {

/// A meter with `zones` named zones (none: unusable) and one note naming it.
power_meter meter_with(const std::string& source, int zones) {
  power_meter meter;
  meter.source = source;
  for (int i = 0; i < zones; ++i) {
    zone_source zone;
    zone.zone.name = "package";
    zone.zone.index = i;
    zone.label = "package";
    meter.zones.push_back(zone);
  }
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
  CHECK(note_texts(chosen) ==
        std::vector<std::string>{"rapl looked at", "fake looked at", "using fake (rapl found no usable zone)"});
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
  std::vector<std::string> labels;
  for (const auto& zone : chosen.zones) labels.push_back(zone.label);
  CHECK(labels == std::vector<std::string>{"core-0", "package-0", "package-10"});
  for (const auto& zone : chosen.zones) {
    auto read = zone.make_reader()();
    REQUIRE(read.ok());
    CHECK(read.value() > 0);
    CHECK(zone.provenance.method == meter_method::counter);
    CHECK(zone.provenance.model.empty());
  }
}

TEST_CASE("with the fake meter last on the ladder and no meter found, it takes over and says it is an estimate") {
  temp_dir empty_sysfs;
  temp_dir procfs;
  procfs.write("stat", "cpu  100 0 50 800 0 0 0 0 0 0\nbtime 1\n");
  kepler_config config;
  config.host.sysfs = empty_sysfs.root();
  config.host.procfs = procfs.root();
  config.cpu.preferred_meters = {meter_kind::rapl, meter_kind::msr, meter_kind::hwmon, meter_kind::fake};
  auto chosen = select_power_meter(config);
  CHECK(chosen.source == "fake-cpu-meter");
  CHECK(chosen.zones.size() == 3);  // package, core, dram
  for (const auto& zone : chosen.zones) {
    CHECK(zone.provenance.method == meter_method::estimate);
    CHECK(zone.provenance.model == "fake-cpu-meter");
    CHECK(zone.provenance.parameters == "idle 10 W, max 60 W, linear in CPU usage");
  }
  auto texts = note_texts(chosen);
  REQUIRE(texts.size() >= 2);  // RAPL's (what it could not list, that it found nothing), then the fake's
  CHECK(std::find(texts.begin(), texts.end(),
                  "no readable RAPL zones under " + config.host.sysfs + "/class/powercap") != texts.end());
  CHECK(std::find(texts.begin(), texts.end(),
                  "no readable hwmon power or energy channels under " + config.host.sysfs + "/class/hwmon") !=
        texts.end());
  CHECK(texts[texts.size() - 2].starts_with("using fake-cpu-meter: estimated power (10 W idle to 60 W busy"));
  CHECK(texts.back() == "using fake-cpu-meter (rapl, msr, hwmon found no usable zone)");
  CHECK_FALSE(chosen.notes.back().warning);
}

namespace {

/// A node with none of RAPL's powercap tree: its sysfs and procfs roots, MSR devices, hwmon chips.
kepler_config node_without_powercap(const kepler::test::msr_machine& machine) {
  kepler_config config;
  config.host.sysfs = machine.root.path("sys");
  config.host.procfs = machine.root.path("proc");
  machine.root.write("proc/stat", "cpu  100 0 50 800 0 0 0 0 0 0\nbtime 1\n");
  config.msr.device_path = machine.device_template();
  return config;
}

}  // namespace

TEST_CASE("a node whose RAPL registers read but whose powercap tree is gone takes the MSR meter") {
  kepler::test::msr_machine machine("GenuineIntel", 1, 2);
  machine.set(0, msr_address::intel_power_unit, 0xa0e03);
  machine.set(0, msr_address::intel_package_energy, 1234);
  auto chosen = select_power_meter(node_without_powercap(machine));
  CHECK(chosen.source == "msr");
  REQUIRE(chosen.zones.size() == 1);
  CHECK(chosen.zones[0].label == "package-0");
  CHECK(chosen.zones[0].provenance.method == meter_method::counter);
  CHECK(chosen.zones[0].zone.max_energy_uj > 0);  // 32-bit counters: the sampler reads before each wrap
  CHECK(chosen.zones[0].make_reader()().value() == uint64_t(1234 * 61.03515625));
  CHECK(note_texts(chosen).back() == "using msr (rapl found no usable zone)");
}

TEST_CASE("a node with hwmon chips only takes the hwmon meter, power channels integrated") {
  kepler::test::msr_machine machine("GenuineIntel", 1, 1);  // its MSR device reads nothing
  auto config = node_without_powercap(machine);
  config.host.sysfs = kepler::test::fixtures_dir() + "/hwmon/sys";
  auto chosen = select_power_meter(config);
  CHECK(chosen.source == "hwmon");
  REQUIRE(chosen.zones.size() == 16);  // every row of hwmon/expected.tsv
  CHECK(chosen.zones[0].label == "package-0");
  CHECK(chosen.zones[0].provenance.method == meter_method::integrated_power);
  CHECK(chosen.zones[0].zone.sample_period == std::chrono::milliseconds(50));
  const auto& counter = *std::find_if(chosen.zones.begin(), chosen.zones.end(),
                                      [](const zone_source& z) { return z.label == "total-0"; });
  CHECK(counter.provenance.method == meter_method::counter);
  CHECK(counter.zone.sample_period.count() == 0);
  CHECK(counter.make_reader()().value() == 500'000'000u);
  CHECK(note_texts(chosen).back() == "using hwmon (rapl, msr found no usable zone)");
}

TEST_CASE("experimental.hwmon.enabled puts hwmon alone on the ladder") {
  kepler::test::msr_machine machine("GenuineIntel", 1, 1);
  auto config = node_without_powercap(machine);
  config.host.sysfs = kepler::test::fixtures_dir() + "/powercap/procfs_i7-8650U_laptop/sys";  // RAPL is there
  config.cpu.preferred_meters = {meter_kind::hwmon};                                          // what the switch sets
  auto chosen = select_power_meter(config);
  CHECK(chosen.source.empty());  // no hwmon under that tree, and nothing else is tried
}

TEST_CASE("the ACPI power meter is the platform zone, never a CPU zone") {
  kepler::test::msr_machine machine("GenuineIntel", 1, 1);
  auto config = node_without_powercap(machine);
  config.host.sysfs = kepler::test::fixtures_dir() + "/acpi_power_meter/sys";
  std::vector<log_note> notes;
  auto platform = acpi_power_meter_zone(config, notes);
  REQUIRE(platform);
  CHECK(platform->zone.platform);
  CHECK(platform->zone.name == "platform");
  CHECK(platform->zone.sample_period == std::chrono::milliseconds(1000));
  CHECK(platform->provenance.method == meter_method::integrated_power);
  CHECK(platform->zone.path == config.host.sysfs + "/class/hwmon/hwmon0/power1_average");
  CHECK(read_unsigned_file(platform->zone.path).value() == 245'000'000u);  // µW: 245 W
  auto read = platform->make_reader();
  CHECK(read().value() == 0u);  // the first reading starts the integration
  REQUIRE(notes.size() == 1);
  CHECK_THAT(notes[0].text, Catch::Contains("platform power from the ACPI power meter"));

  auto cpu = select_power_meter(config);
  CHECK(cpu.source == "hwmon");
  REQUIRE(cpu.zones.size() == 1);
  CHECK(cpu.zones[0].label == "package-0");
  CHECK_FALSE(cpu.zones[0].zone.platform);
}

TEST_CASE("the ACPI power meter's sentinel is rejected, not read as 4.29 MW") {
  kepler::test::msr_machine machine("GenuineIntel", 1, 1);
  auto config = node_without_powercap(machine);
  config.host.sysfs = kepler::test::fixtures_dir() + "/acpi_power_meter_sentinel/sys";
  std::vector<log_note> notes;
  auto platform = acpi_power_meter_zone(config, notes);
  REQUIRE(platform);
  auto read = platform->make_reader();
  auto first = read();
  REQUIRE_FALSE(first.ok());
  CHECK(first.error_kind() == errc::implausible);
}
