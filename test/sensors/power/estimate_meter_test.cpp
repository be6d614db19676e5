// The estimate meter: energy integrated from the model at the measured CPU usage, its zone and
// provenance, its notes, and its place on the ladder.
#include "sensors/power/estimate_meter.hpp"

#include <catch2/catch.hpp>

#include <thread>

#include "test/sensors/power/estimate_test_support.hpp"

using namespace kepler;
using namespace std::chrono_literals;
using Catch::Matchers::Contains;
using kepler::test::estimate_host;

namespace {

/// A zone of the model `curve` on the host's /proc, read on the host's clock.
estimate_zone zone_on(const estimate_host& host, power_curve curve) {
  auto clock = host.now;
  return estimate_zone(std::move(curve), host.tree.path("proc"), [clock] { return *clock; });
}

std::string all_notes(const power_meter& meter) {
  std::string text;
  for (const auto& note : meter.notes) text += (note.warning ? "[warn] " : "[info] ") + note.text + "\n";
  return text;
}

}  // namespace

TEST_CASE("an m5.large moving from 0 % to 50 % CPU moves the energy as CCF's model says", "[estimate]") {
  // m5.large: 2 vCPUs of Skylake, 0.65-4.26 W per vCPU. 0 %: 1.30 W; 50 %: 4.91 W.
  estimate_host host;
  host.cpuinfo(
      test::x86_cpuinfo("Intel(R) Xeon(R) Platinum 8175M CPU @ 2.50GHz", 1, 2, "GenuineIntel", 6, 85, 4, true));
  host.dmi("Amazon EC2", "m5.large");
  const auto config = host.config();
  auto meter =
      estimate_meter_for(config, read_node_facts(config.host.sysfs, config.host.procfs), builtin_estimate_tables());
  REQUIRE(meter.zones.size() == 1);
  const auto& zone = meter.zones.front();
  CHECK(meter.source == "estimate");
  CHECK(zone.zone.name == "package");
  CHECK(zone.label == "package-0");
  CHECK(zone.provenance.method == meter_method::estimate);
  CHECK(zone.provenance.model == "ccf-aws-skylake");
  CHECK(zone.provenance.parameters == "0.65-4.26 W per vCPU x 2 vCPUs, linear in CPU usage");

  // The zone's own curve, on the test's clock.
  auto curve =
      choose_estimate_model(config, read_node_facts(config.host.sysfs, config.host.procfs), builtin_estimate_tables())
          .curve;
  auto package = zone_on(host, curve);
  REQUIRE(package.read_energy_uj().value() == 0);  // the baseline

  host.advance(2s, 0, 400);  // 2 s idle: 1.30 W × 2 s = 2.60 J
  CHECK(static_cast<double>(package.read_energy_uj().value()) == Approx(2'600'000).epsilon(0.01));
  host.advance(2s, 200, 200);  // 2 s at 50 %: + 4.91 W × 2 s = 9.82 J
  CHECK(static_cast<double>(package.read_energy_uj().value()) == Approx(2'600'000 + 9'820'000).epsilon(0.01));

  // The reader the ladder hands to the sampler works on the real clock.
  auto read = zone.make_reader();
  CHECK(read().ok());
}

TEST_CASE("the estimate's notes say estimated, not measured, with the parameters", "[estimate]") {
  estimate_host host;
  host.cpuinfo(test::x86_cpuinfo("Intel(R) Xeon(R) Platinum 8176 CPU @ 2.10GHz", 2, 56));
  auto meter = discover_estimate_meter(host.config());
  REQUIRE(meter.notes.size() == 1);
  CHECK_FALSE(meter.notes.front().warning);
  CHECK_THAT(meter.notes.front().text, Contains("using estimate: estimated, not measured: model "
                                                "specpower-xeon-platinum-8176 (median per thread of 10") &&
                                           Contains("Xeon(R) Platinum 8176"));
}

TEST_CASE("an unknown CPU takes the fallback with a warning that names it", "[estimate]") {
  estimate_host host;
  host.cpuinfo(
      test::whole_file(test::fixtures_dir() + "/procfs/cpuinfo/utillinux_intel_i7-1165G7_1s8t_linux6.2.cpuinfo"));
  auto meter = discover_estimate_meter(host.config());
  INFO(all_notes(meter));
  REQUIRE(meter.zones.size() == 1);
  CHECK(meter.zones.front().provenance.model == "fallback-ccf-average");
  REQUIRE(meter.notes.size() == 2);
  CHECK(meter.notes[0].warning);
  CHECK_THAT(meter.notes[0].text, Contains("i7-1165G7") && Contains("is in no table") &&
                                      Contains("using the fallback fallback-ccf-average") &&
                                      Contains("estimate.tdpWatts"));
  CHECK_THAT(meter.notes[1].text, Contains("estimated, not measured"));
}

TEST_CASE("no cpuinfo: one thread is assumed, with a warning", "[estimate]") {
  estimate_host host;  // proc/stat only
  auto meter = discover_estimate_meter(host.config());
  INFO(all_notes(meter));
  REQUIRE(meter.zones.size() == 1);
  CHECK(meter.zones.front().provenance.model == "fallback-ccf-average");
  CHECK(meter.notes.front().warning);
  CHECK_THAT(meter.notes.front().text, Contains("cpuinfo lists no CPUs"));
}

TEST_CASE("an unreadable /proc/stat is an error, and the next good read is the baseline", "[estimate]") {
  estimate_host host;
  auto package = zone_on(host, power_curve::linear(10, 20));
  REQUIRE(package.read_energy_uj().value() == 0);
  host.tree.remove("proc/stat");
  auto missing = package.read_energy_uj();
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error_kind() == errc::io);
  CHECK_THAT(missing.error_message(), Contains("proc/stat"));
  host.tree.write("proc/stat", "intr 1 2 3\n");
  auto garbled = package.read_energy_uj();
  REQUIRE_FALSE(garbled.ok());
  CHECK(garbled.error_kind() == errc::parse);
  host.advance(1s, 0, 100);  // one idle second while it was broken, then good again
  CHECK(package.read_energy_uj().value() == 10'000'000);
  host.tree.write("proc/stat", "cpu  " + std::string(2000, '1') + "\n");
  CHECK_THAT(package.read_energy_uj().error_message(), Contains("first line longer than 1024 bytes"));
}

TEST_CASE("a zero-length or backwards window adds no energy", "[estimate]") {
  estimate_host host;
  auto package = zone_on(host, power_curve::linear(10, 20));
  package.read_energy_uj();
  host.advance(1s, 50, 50);
  const auto one_second = package.read_energy_uj().value();
  CHECK(one_second == 15'000'000);  // 50 %: 15 W × 1 s
  host.advance(0s, 100, 0);
  CHECK(package.read_energy_uj().value() == one_second);
  host.advance(-1s, 100, 0);
  CHECK(package.read_energy_uj().value() == one_second);
}

TEST_CASE("estimate on the ladder: chosen when RAPL has no zone, the notes of both kept", "[estimate]") {
  estimate_host host;
  host.cpuinfo(test::x86_cpuinfo("Intel(R) Xeon(R) Platinum 8176 CPU @ 2.10GHz", 2, 56));
  auto config = host.config();
  config.cpu.preferred_meters = {meter_kind::rapl, meter_kind::estimate, meter_kind::fake};
  auto chosen = select_power_meter(config);
  INFO(all_notes(chosen));
  CHECK(chosen.source == "estimate");
  REQUIRE(chosen.zones.size() == 1);
  CHECK(chosen.zones.front().provenance.model == "specpower-xeon-platinum-8176");
  CHECK_THAT(all_notes(chosen), Contains("no readable RAPL zones") && Contains("using estimate"));
  CHECK(parse_enum<meter_kind>("estimate") == meter_kind::estimate);
}

TEST_CASE("the estimate follows the real clock and this machine's /proc", "[estimate]") {
  estimate_zone package(power_curve::linear(10, 20), "/proc", nullptr);
  REQUIRE(package.read_energy_uj().ok());
  std::this_thread::sleep_for(20ms);
  const auto energy = package.read_energy_uj();
  REQUIRE(energy.ok());
  CHECK(energy.value() >= 10.0 * 0.020 * 1e6 * 0.9);  // at least idle power over ~20 ms
}

TEST_CASE("the default ladder on a cloud VM with no meter ends on the estimate with the cloud model", "[estimate]") {
  estimate_host host;
  host.cpuinfo(
      test::x86_cpuinfo("Intel(R) Xeon(R) Platinum 8175M CPU @ 2.50GHz", 1, 2, "GenuineIntel", 6, 85, 4, true));
  host.dmi("Amazon EC2", "m5.large");
  auto config = host.config();  // cpu.preferredMeters as shipped: rapl, msr, hwmon, estimate
  config.msr.device_path = host.tree.path("dev/cpu/%d/msr");  // no MSR device
  auto chosen = select_power_meter(config);
  INFO(all_notes(chosen));
  CHECK(chosen.source == "estimate");
  REQUIRE(chosen.zones.size() == 1);
  CHECK(chosen.zones.front().provenance.model == "ccf-aws-skylake");
  CHECK_THAT(all_notes(chosen), Contains("using estimate (rapl, msr, hwmon found no usable zone)"));
}
