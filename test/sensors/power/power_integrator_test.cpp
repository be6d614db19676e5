#include "sensors/power/power_integrator.hpp"

#include <catch2/catch.hpp>

using namespace kepler;

namespace {
constexpr int64_t ms = 1'000'000;  // ns
}

TEST_CASE("a steady power integrates to watts × seconds, from the second reading on", "[power_integrator]") {
  power_integrator integrator(10'000, power_integrator::readings::averages);
  CHECK(integrator.update(30'000'000, 0).value() == 0);  // 30 W: the first reading is the baseline
  CHECK(integrator.update(30'000'000, 500 * ms).value() == 15'000'000);
  CHECK(integrator.update(30'000'000, 1000 * ms).value() == 30'000'000);
}

TEST_CASE("an average reading covers the time since the previous one", "[power_integrator]") {
  power_integrator integrator(10'000, power_integrator::readings::averages);
  integrator.update(10'000'000, 0);
  CHECK(integrator.update(50'000'000, 100 * ms).value() == 5'000'000);  // 50 W × 0.1 s
  CHECK(integrator.update(20'000'000, 300 * ms).value() == 9'000'000);  // + 20 W × 0.2 s
  CHECK(integrator.update(20'000'000, 300 * ms).value() == 9'000'000);  // no time passed
  CHECK(integrator.update(1, 300 * ms + 1).value() == 9'000'000);       // fractions carry over
}

TEST_CASE("a sentinel or absurd power is rejected as implausible and its time goes to the next reading",
          "[power_integrator]") {
  power_integrator integrator(10'000, power_integrator::readings::averages);
  integrator.update(100'000'000, 0);
  auto sentinel = integrator.update(4'294'967'295'000, 1000 * ms);  // ACPI power meter: 0xFFFFFFFF × 1000
  REQUIRE_FALSE(sentinel.ok());
  CHECK(sentinel.error_kind() == errc::implausible);
  CHECK_THAT(sentinel.error_message(), Catch::Contains("4294967295000 µW"));
  CHECK(integrator.update(100'000'000, 2000 * ms).value() == 200'000'000);  // 100 W over both seconds
}

TEST_CASE("instant readings charge each interval at the mean of its two ends", "[power_integrator]") {
  power_integrator integrator(10'000, power_integrator::readings::instants);
  integrator.update(10'000'000, 0);
  CHECK(integrator.update(30'000'000, 100 * ms).value() == 2'000'000);  // (10 + 30) / 2 W × 0.1 s
}

TEST_CASE("a power stepping as often as it is sampled averages out when readings are instants", "[power_integrator]") {
  // 40 W and 60 W alternating every 100 ms, read every 100 ms just after each step, each read
  // late by a different amount: charged at the later reading, the 60 W intervals that happen to
  // be longer would pull the mean up; at the mean of both ends it stays at 50 W.
  power_integrator integrator(10'000, power_integrator::readings::instants);
  int64_t t = 0;
  uint64_t last = 0;
  for (int i = 0; i < 100; ++i) {
    t += (i % 2 == 0 ? 130 : 70) * ms;
    last = integrator.update(i % 2 == 0 ? 60'000'000 : 40'000'000, t).value();
  }
  CHECK(static_cast<double>(last) / (static_cast<double>(t - 130 * ms) / 1e3) == Approx(50).epsilon(0.001));
}
