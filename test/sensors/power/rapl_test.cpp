#include "sensors/power/rapl.hpp"

#include <catch2/catch.hpp>

#include <algorithm>

#include "test/sensors/test_support.hpp"

using namespace kepler;
using kepler::test::temp_dir;

namespace {

std::string fixture_sysfs(const std::string& dir) { return kepler::test::fixtures_dir() + "/powercap/" + dir + "/sys"; }

bool any_warning_contains(const rapl_discovery& d, const std::string& text) {
  return std::any_of(d.warnings.begin(), d.warnings.end(),
                     [&](const std::string& w) { return w.find(text) != std::string::npos; });
}

/// Writes one zone directory holding name, energy_uj and max_energy_range_uj.
void write_zone(const temp_dir& t, const std::string& dir, const std::string& name,
                const std::string& energy = "1000\n", const std::string& max = "262143328850\n") {
  t.write(dir + "/name", name + "\n");
  t.write(dir + "/energy_uj", energy);
  t.write(dir + "/max_energy_range_uj", max);
}

}  // namespace

TEST_CASE("the laptop tree yields package, core and the oddly named package-10 zone", "[rapl]") {
  const auto sysfs = fixture_sysfs("procfs_i7-8650U_laptop");
  const auto found = discover_rapl_zones(sysfs, {});
  CHECK(found.warnings.empty());  // the `intel-rapl` control directory is skipped silently
  REQUIRE(found.zones.size() == 3);

  const auto base = sysfs + "/class/powercap/";
  CHECK(found.zones[0].name == "core");
  CHECK(found.zones[0].index == 0);
  CHECK(found.zones[0].path == base + "intel-rapl:0:0");
  CHECK(found.zones[1].name == "package");
  CHECK(found.zones[1].index == 0);
  CHECK(found.zones[1].path == base + "intel-rapl:0");
  // `intel-rapl:a` is named package-10: the index comes from the name, not the directory.
  CHECK(found.zones[2].name == "package");
  CHECK(found.zones[2].index == 10);
  CHECK(found.zones[2].path == base + "intel-rapl:a");
  for (const auto& zone : found.zones) CHECK(zone.max_energy_uj == 262143328850u);

  CHECK(read_energy_uj(found.zones[0].path).value() == 118821284256u);
  CHECK(read_energy_uj(found.zones[1].path).value() == 240422366267u);
  CHECK(read_energy_uj(found.zones[2].path).value() == 240422366267u);
}

TEST_CASE("a 4-socket server keeps all 12 zones per socket, indexed by name suffix or order", "[rapl]") {
  const auto sysfs = fixture_sysfs("multisocket_xeon_4socket_core_dram");
  const auto found = discover_rapl_zones(sysfs, {});
  CHECK(found.warnings.empty());
  REQUIRE(found.zones.size() == 12);

  struct expected_zone {
    const char* name;
    int index;
    const char* dir;
    uint64_t energy_uj;
  };
  const expected_zone expected[] = {
      {"core", 0, "intel-rapl:0:0", 17890384969u},  {"core", 1, "intel-rapl:1:0", 28312441531u},
      {"core", 2, "intel-rapl:2:0", 64874120580u},  {"core", 3, "intel-rapl:3:0", 19178661532u},
      {"dram", 0, "intel-rapl:0:1", 42654180108u},  {"dram", 1, "intel-rapl:1:1", 28336196162u},
      {"dram", 2, "intel-rapl:2:1", 11793304602u},  {"dram", 3, "intel-rapl:3:1", 17701212944u},
      {"package", 0, "intel-rapl:0", 5597181429u},  {"package", 1, "intel-rapl:1", 44097140474u},
      {"package", 2, "intel-rapl:2", 10537557287u}, {"package", 3, "intel-rapl:3", 1800898200u},
  };
  for (std::size_t i = 0; i < 12; ++i) {
    INFO("zone " << i);
    const auto& zone = found.zones[i];
    CHECK(zone.name == expected[i].name);
    CHECK(zone.index == expected[i].index);
    CHECK(zone.path == sysfs + "/class/powercap/" + expected[i].dir);
    CHECK(zone.max_energy_uj == 65532610987u);
    CHECK(read_energy_uj(zone.path).value() == expected[i].energy_uj);
  }
}

TEST_CASE("the socket index comes from the zone name when directory ids are reversed", "[rapl]") {
  const auto sysfs = fixture_sysfs("multisocket_xeon_2socket_reversed_pkg_ids");
  const auto found = discover_rapl_zones(sysfs, {});
  CHECK(found.warnings.empty());
  REQUIRE(found.zones.size() == 2);
  CHECK(found.zones[0].name == "package");
  CHECK(found.zones[0].index == 0);
  CHECK(found.zones[0].path == sysfs + "/class/powercap/intel-rapl:1");
  CHECK(read_energy_uj(found.zones[0].path).value() == 206448289179u);
  CHECK(found.zones[1].name == "package");
  CHECK(found.zones[1].index == 1);
  CHECK(found.zones[1].path == sysfs + "/class/powercap/intel-rapl:0");
  CHECK(read_energy_uj(found.zones[1].path).value() == 118155980417u);
}

TEST_CASE("a zone with an empty name is rejected with a warning", "[rapl]") {
  const auto sysfs = fixture_sysfs("powertelemetry_intel_rapl_domain_name_empty");
  const auto found = discover_rapl_zones(sysfs, {});
  CHECK(found.zones.empty());
  REQUIRE(found.warnings.size() == 1);
  CHECK(any_warning_contains(found, "intel-rapl:1"));
  CHECK(any_warning_contains(found, "empty name"));
}

TEST_CASE("a dram zone without energy_uj is skipped with a warning and the package is kept", "[rapl]") {
  const auto sysfs = fixture_sysfs("powertelemetry_intel_rapl_dram_curr_energy_attr_file_not_exist");
  const auto found = discover_rapl_zones(sysfs, {});
  REQUIRE(found.zones.size() == 1);
  const auto& zone = found.zones[0];
  CHECK(zone.name == "package");
  CHECK(zone.index == 0);
  CHECK(zone.path == sysfs + "/devices/virtual/powercap/intel-rapl/intel-rapl:0");
  CHECK(zone.max_energy_uj == 262143328850u);  // the file has no trailing newline
  CHECK(read_energy_uj(zone.path).value() == 206999074695u);
  REQUIRE(found.warnings.size() == 1);
  CHECK(any_warning_contains(found, "intel-rapl:0:1"));
  CHECK(any_warning_contains(found, "energy_uj"));
}

TEST_CASE("the zone filter is case-insensitive", "[rapl]") {
  const auto sysfs = fixture_sysfs("multisocket_xeon_4socket_core_dram");
  const auto found = discover_rapl_zones(sysfs, {"DRAM", "Package"});
  CHECK(found.warnings.empty());
  REQUIRE(found.zones.size() == 8);
  CHECK(std::none_of(found.zones.begin(), found.zones.end(), [](const rapl_zone& z) { return z.name == "core"; }));
}

TEST_CASE("a filter that removes every zone leaves a warning", "[rapl]") {
  const auto found = discover_rapl_zones(fixture_sysfs("procfs_i7-8650U_laptop"), {"psys"});
  CHECK(found.zones.empty());
  REQUIRE(found.warnings.size() == 1);
  CHECK(any_warning_contains(found, "psys"));
}

TEST_CASE("the standard intel-rapl zone wins over its mmio duplicate", "[rapl]") {
  temp_dir t;
  SECTION("flat class/powercap layout") {
    write_zone(t, "sys/class/powercap/intel-rapl-mmio:0", "package-0", "5\n");
    write_zone(t, "sys/class/powercap/intel-rapl:0", "package-0", "7\n");
    t.mkdir("sys/class/powercap/intel-rapl-mmio");
  }
  SECTION("nested devices/virtual/powercap layout") {
    write_zone(t, "sys/devices/virtual/powercap/intel-rapl-mmio/intel-rapl-mmio:0", "package-0", "5\n");
    write_zone(t, "sys/devices/virtual/powercap/intel-rapl/intel-rapl:0", "package-0", "7\n");
    t.mkdir("sys/devices/virtual/powercap/intel-rapl/intel-rapl:0/power");
  }
  const auto found = discover_rapl_zones(t.path("sys"), {});
  CHECK(found.warnings.empty());
  REQUIRE(found.zones.size() == 1);
  CHECK(found.zones[0].path.ends_with("/intel-rapl:0"));
  CHECK(read_energy_uj(found.zones[0].path).value() == 7);
}

TEST_CASE("names without a numeric suffix get a per-name running index", "[rapl]") {
  temp_dir t;
  write_zone(t, "sys/class/powercap/intel-rapl:0", "package-0");
  write_zone(t, "sys/class/powercap/intel-rapl:0:0", "dram");
  write_zone(t, "sys/class/powercap/intel-rapl:1", "psys");
  write_zone(t, "sys/class/powercap/intel-rapl:1:0", "dram");
  const auto found = discover_rapl_zones(t.path("sys"), {});
  CHECK(found.warnings.empty());
  REQUIRE(found.zones.size() == 4);
  CHECK(found.zones[0].name == "dram");
  CHECK(found.zones[0].index == 0);
  CHECK(found.zones[0].path.ends_with("intel-rapl:0:0"));
  CHECK(found.zones[1].name == "dram");
  CHECK(found.zones[1].index == 1);
  CHECK(found.zones[1].path.ends_with("intel-rapl:1:0"));
  CHECK(found.zones[2].name == "package");
  CHECK(found.zones[3].name == "psys");
  CHECK(found.zones[3].index == 0);
}

TEST_CASE("a zone with a broken max_energy_range_uj is skipped and the others are kept", "[rapl]") {
  temp_dir t;
  write_zone(t, "sys/class/powercap/intel-rapl:0", "package-0");
  write_zone(t, "sys/class/powercap/intel-rapl:0:0", "core", "1\n", "not a number\n");
  write_zone(t, "sys/class/powercap/intel-rapl:0:1", "dram");
  t.remove("sys/class/powercap/intel-rapl:0:1/max_energy_range_uj");
  t.mkdir("sys/class/powercap/intel-rapl:1");  // zone directory without a name
  const auto found = discover_rapl_zones(t.path("sys"), {});
  REQUIRE(found.zones.size() == 1);
  CHECK(found.zones[0].name == "package");
  REQUIRE(found.warnings.size() == 3);
  CHECK(any_warning_contains(found, "intel-rapl:0:0"));
  CHECK(any_warning_contains(found, "not a number"));
  CHECK(any_warning_contains(found, "intel-rapl:0:1/max_energy_range_uj"));
  CHECK(any_warning_contains(found, "intel-rapl:1"));
}

TEST_CASE("a sysfs without any powercap tree yields no zones and a warning", "[rapl]") {
  temp_dir t;
  t.mkdir("sys/class");
  const auto found = discover_rapl_zones(t.path("sys"), {});
  CHECK(found.zones.empty());
  REQUIRE(found.warnings.size() == 1);
  CHECK(any_warning_contains(found, "powercap"));
}

TEST_CASE("an energy counter is read with surrounding whitespace trimmed", "[rapl]") {
  temp_dir t;
  t.write("zone/energy_uj", "  18446744073709551615 \n");
  const auto energy = read_energy_uj(t.path("zone"));
  REQUIRE(energy.ok());
  CHECK(energy.value() == 18446744073709551615u);
}

TEST_CASE("a broken energy counter is an error naming the file", "[rapl]") {
  temp_dir t;
  const auto file = t.path("zone/energy_uj");
  SECTION("garbage") { t.write("zone/energy_uj", "12ab\n"); }
  SECTION("empty") { t.write("zone/energy_uj", ""); }
  SECTION("only whitespace") { t.write("zone/energy_uj", " \n"); }
  SECTION("negative") { t.write("zone/energy_uj", "-5\n"); }
  SECTION("overflow") { t.write("zone/energy_uj", "18446744073709551616\n"); }
  SECTION("too long") { t.write("zone/energy_uj", std::string(100, '1')); }
  SECTION("missing") { t.mkdir("zone"); }
  const auto energy = read_energy_uj(t.path("zone"));
  REQUIRE_FALSE(energy.ok());
  CHECK_THAT(energy.error_message(), Catch::Contains(file));
}

TEST_CASE("blank zone filter entries select every zone", "[rapl]") {
  const auto found = discover_rapl_zones(fixture_sysfs("procfs_i7-8650U_laptop"), {"", " "});
  CHECK(found.warnings.empty());
  CHECK(found.zones.size() == 3);
}

TEST_CASE("two standard zones with the same name and index keep the first with a warning", "[rapl]") {
  temp_dir t;
  write_zone(t, "sys/class/powercap/intel-rapl:0", "package-0", "1\n");
  write_zone(t, "sys/class/powercap/intel-rapl:1", "package-0", "2\n");
  const auto found = discover_rapl_zones(t.path("sys"), {});
  REQUIRE(found.zones.size() == 1);
  CHECK(found.zones[0].path.ends_with("intel-rapl:0"));
  REQUIRE(found.warnings.size() == 1);
  CHECK(any_warning_contains(found, "intel-rapl:1"));
}
