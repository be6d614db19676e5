#include "sensors/power/fake_meter.hpp"

#include <catch2/catch.hpp>

#include <memory>
#include <thread>

#include "test/sensors/test_support.hpp"

using namespace kepler;
using namespace std::chrono_literals;
using kepler::test::temp_dir;

namespace {

/// A fake procfs whose aggregate cpu line the test advances, and a clock it sets.
struct fake_host {
  temp_dir tree;
  uint64_t busy_ticks = 1000, idle_ticks = 5000;
  std::shared_ptr<std::chrono::nanoseconds> now = std::make_shared<std::chrono::nanoseconds>(0);

  fake_host() { write_stat(); }
  void write_stat() const {
    tree.write("proc/stat",
               "cpu  " + std::to_string(busy_ticks) + " 0 0 " + std::to_string(idle_ticks) + " 0 0 0 0 0 0\nbtime 1\n");
  }
  /// Advances the clock by `elapsed` and the cpu counters by the given ticks.
  void advance(std::chrono::nanoseconds elapsed, uint64_t busy, uint64_t idle) {
    *now += elapsed;
    busy_ticks += busy;
    idle_ticks += idle;
    write_stat();
  }
  fake_zone zone(const std::string& name, fake_meter_model model = {}) const {
    auto clock = now;
    return fake_zone(name, model, tree.path("proc"), [clock] { return *clock; });
  }
};

}  // namespace

TEST_CASE("the fake package draws idle watts at 0 % and max watts at 100 % cpu", "[fake_meter]") {
  fake_host host;
  auto package = host.zone("package", {10.0, 60.0});
  REQUIRE(package.read_energy_uj().value() == 0);  // first read: the baseline

  host.advance(2s, 0, 400);                               // 2 s fully idle
  CHECK(package.read_energy_uj().value() == 20'000'000);  // 10 W × 2 s

  host.advance(500ms, 400, 0);                                         // 0.5 s fully busy
  CHECK(package.read_energy_uj().value() == 20'000'000 + 30'000'000);  // + 60 W × 0.5 s

  host.advance(1s, 100, 100);                                          // 1 s at 50 %
  CHECK(package.read_energy_uj().value() == 50'000'000 + 35'000'000);  // + 35 W × 1 s
}

TEST_CASE("fake zones scale the package power by their name", "[fake_meter]") {
  CHECK(fake_zone_scale("package") == 1.0);
  CHECK(fake_zone_scale("core") == 0.7);
  CHECK(fake_zone_scale("uncore") == 0.1);
  CHECK(fake_zone_scale("dram") == 0.15);
  CHECK(fake_zone_scale("DRAM") == 0.15);
  CHECK(fake_zone_scale("gpu") == 0.5);

  fake_host host;
  auto dram = host.zone("dram", {10.0, 60.0});
  auto core = host.zone("core", {10.0, 60.0});
  dram.read_energy_uj();
  core.read_energy_uj();
  host.advance(2s, 0, 400);
  CHECK(dram.read_energy_uj().value() == 3'000'000);   // 0.15 × 10 W × 2 s
  CHECK(core.read_energy_uj().value() == 14'000'000);  // 0.7 × 10 W × 2 s
  host.advance(2s, 400, 0);
  CHECK(dram.read_energy_uj().value() == 3'000'000 + 18'000'000);   // + 0.15 × 60 W × 2 s
  CHECK(core.read_energy_uj().value() == 14'000'000 + 84'000'000);  // + 0.7 × 60 W × 2 s
}

TEST_CASE("a zero-length window adds no energy", "[fake_meter]") {
  fake_host host;
  auto package = host.zone("package");
  package.read_energy_uj();
  host.advance(1s, 50, 50);
  const auto after_one_second = package.read_energy_uj().value();
  CHECK(after_one_second > 0);
  host.advance(0s, 100, 0);
  CHECK(package.read_energy_uj().value() == after_one_second);
}

TEST_CASE("the fake path names the zone under intel-rapl", "[fake_meter]") {
  fake_host host;
  CHECK(host.zone("package").path() == "/sys/class/powercap/intel-rapl/energy_package");
  CHECK(host.zone("dram").name() == "dram");
}

TEST_CASE("the fake meter reports an unreadable /proc/stat as an error", "[fake_meter]") {
  fake_host host;
  auto package = host.zone("package");
  host.tree.remove("proc/stat");
  const auto energy = package.read_energy_uj();
  REQUIRE_FALSE(energy.ok());
  CHECK_THAT(energy.error_message(), Catch::Contains("stat"));
  // Once /proc/stat is back, the first good read is the baseline.
  host.write_stat();
  CHECK(package.read_energy_uj().value() == 0);
}

TEST_CASE("the fake meter follows the real clock and /proc when nothing is injected", "[fake_meter]") {
  fake_zone package("package", {}, "/proc", nullptr);
  REQUIRE(package.read_energy_uj().ok());
  std::this_thread::sleep_for(20ms);
  const auto energy = package.read_energy_uj();
  REQUIRE(energy.ok());
  CHECK(energy.value() >= 10.0 * 0.020 * 1e6 * 0.9);  // at least idle power over ~20 ms
}
