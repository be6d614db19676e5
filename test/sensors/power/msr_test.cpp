#include "sensors/power/msr.hpp"

#include <catch2/catch.hpp>

#include <cmath>

#include "test/sensors/power/msr_machine.hpp"

using namespace kepler;
using kepler::test::msr_machine;

namespace {

const msr_zone* zone_named(const msr_discovery& found, const std::string& name, int package) {
  for (const auto& zone : found.zones)
    if (zone.name == name && zone.package == package) return &zone;
  return nullptr;
}

}  // namespace

TEST_CASE("the energy unit is decoded from the power unit register, Intel's and AMD's values", "[msr]") {
  CHECK(msr_energy_unit_uj(0xa0e03) == Approx(61.03515625));    // ESU 14 (Intel client and server parts)
  CHECK(msr_energy_unit_uj(0xa1003) == Approx(15.2587890625));  // ESU 16 (AMD Zen)
  CHECK(msr_energy_unit_uj(0x0) == Approx(1e6));
}

TEST_CASE("an Intel machine has package, core and dram zones per package, read by one of its CPUs", "[msr]") {
  msr_machine machine("GenuineIntel", 2, 2);  // model 85: Skylake-SP, whose DRAM counts in 15.3 µJ
  for (int cpu : {0, 2}) {
    machine.set(cpu, msr_address::intel_power_unit, 0xa0e03);
    machine.set(cpu, msr_address::intel_package_energy, 1000);
    machine.set(cpu, msr_address::intel_pp0_energy, 500);
    machine.set(cpu, msr_address::intel_dram_energy, 200);
  }
  auto found = machine.discover();
  CHECK(found.warnings.empty());
  REQUIRE(found.zones.size() == 6);
  const auto* package1 = zone_named(found, "package", 1);
  REQUIRE(package1);
  REQUIRE(package1->counters.size() == 1);
  CHECK(package1->counters[0].cpu == 2);
  CHECK(package1->unit_uj == Approx(61.03515625));
  CHECK(zone_named(found, "dram", 0)->unit_uj == Approx(15.3));
  CHECK(zone_named(found, "uncore", 0) == nullptr);  // the register does not read: no such domain
  auto read = msr_zone_reader(*package1, machine.device_template());
  CHECK(read().value() == uint64_t(std::floor(1000 * 61.03515625)));
  CHECK(msr_zone_range_uj(*package1) == uint64_t(std::floor(4294967296.0 * 61.03515625)));
  CHECK(msr_zone_path(*package1, machine.device_template()) == machine.root.path("dev/cpu/2/msr") + "@0x611");
}

TEST_CASE("an AMD machine's core zone sums each core's counter, unwrapping each on its own", "[msr]") {
  msr_machine machine("AuthenticAMD", 1, 2);
  // AMD's three registers are adjacent addresses, and the file stands in for the device byte by
  // byte: on CPU 0 the core register reads the unit register's ESU byte (0x10) and then the
  // package register's (zero) bytes, so it holds 16. CPU 1's file holds its core register alone.
  machine.set(0, msr_address::amd_power_unit, 0xa1003);
  machine.set(0, msr_address::amd_package_energy, 0);
  machine.set(1, msr_address::amd_core_energy, 0xffffff00);  // about to wrap
  auto found = machine.discover();
  const auto* core = zone_named(found, "core", 0);
  REQUIRE(core);
  CHECK(core->counters.size() == 2);
  CHECK(msr_zone_range_uj(*core) == 0);
  REQUIRE(zone_named(found, "package", 0));
  auto read = msr_zone_reader(*core, machine.device_template());
  auto unit = 15.2587890625;
  auto first = read().value();
  CHECK(first == uint64_t(std::floor((16 + double(0xffffff00)) * unit)));
  machine.set(1, msr_address::amd_core_energy, 0x10);  // wrapped: 0x110 counts later
  CHECK(read().value() == uint64_t(std::floor((16 + double(0xffffff00) + 0x110) * unit)));
}

TEST_CASE("without the msr device, or on another vendor, discovery finds nothing and says why", "[msr]") {
  msr_machine intel("GenuineIntel", 1, 1);
  intel.root.remove("dev/cpu/0/msr");
  auto missing = intel.discover();
  CHECK(missing.zones.empty());
  REQUIRE(missing.warnings.size() == 1);
  CHECK_THAT(missing.warnings[0], Catch::Contains("unable to open " + intel.root.path("dev/cpu/0/msr")) &&
                                      Catch::Contains("is the msr module loaded?"));
  msr_machine arm("ARM", 1, 1);
  auto other = arm.discover();
  CHECK(other.zones.empty());
  REQUIRE(other.warnings.size() == 1);
  CHECK(other.warnings[0] == "no MSR zones: no RAPL registers on a ARM CPU");
}
