#include "sensors/energy_counter.hpp"

#include <catch2/catch.hpp>

using namespace kepler;

TEST_CASE("a counter that rises gives the plain difference", "[energy_counter]") {
  CHECK(wrapped_delta_uj(100, 250, 1000) == 150);
  CHECK(wrapped_delta_uj(100, 250, 0) == 150);
  CHECK(wrapped_delta_uj(7, 7, 1000) == 0);
}

TEST_CASE("a counter that wraps adds the distance to the range plus the new reading",
          "[energy_counter]") {
  CHECK(wrapped_delta_uj(900, 100, 1000) == 200);
  CHECK(wrapped_delta_uj(1000, 0, 1000) == 0);
  // Real range of a client package (262143328850 µJ ≈ 262 kJ).
  CHECK(wrapped_delta_uj(262143000000u, 500000u, 262143328850u) == 828850u);
}

TEST_CASE("a drop with an unknown range is a reset and yields nothing", "[energy_counter]") {
  CHECK(wrapped_delta_uj(900, 100, 0) == 0);
  // A previous reading beyond the declared range cannot be a wrap either.
  CHECK(wrapped_delta_uj(5000, 100, 1000) == 0);
}

TEST_CASE("the first reading only sets the baseline", "[energy_counter]") {
  energy_counter counter(1000);
  CHECK_FALSE(counter.has_reading());
  CHECK(counter.update(640) == 0);
  CHECK(counter.has_reading());
  CHECK(counter.total_uj() == 0);
  CHECK(counter.last_raw_uj() == 640);
  CHECK(counter.max_energy_uj() == 1000);
}

TEST_CASE("a zone that wraps at every read is counted once per wrap", "[energy_counter]") {
  energy_counter counter(1000);
  counter.update(800);
  CHECK(counter.update(100) == 300);  // wrap 1
  CHECK(counter.update(50) == 950);   // wrap 2: almost a full range
  CHECK(counter.update(700) == 650);
  CHECK(counter.update(200) == 500);  // wrap 3
  CHECK(counter.total_uj() == 300 + 950 + 650 + 500);
  CHECK(counter.last_raw_uj() == 200);
}

TEST_CASE("a reset with an unknown range starts a new baseline without losing the total",
          "[energy_counter]") {
  energy_counter counter(0);
  counter.update(1000);
  CHECK(counter.update(1500) == 500);
  CHECK(counter.update(20) == 0);  // reset: nothing invented
  CHECK(counter.last_raw_uj() == 20);
  CHECK(counter.update(70) == 50);  // counted from the new baseline
  CHECK(counter.total_uj() == 550);
}

TEST_CASE("the total goes beyond 32 bits and never decreases", "[energy_counter]") {
  const uint64_t max = 65532610987u;
  energy_counter counter(max);
  uint64_t raw = 0, previous_total = 0;
  counter.update(raw);
  for (int i = 0; i < 1000; ++i) {
    raw = (raw + 30'000'000'000u) % max;  // faster than the wrap period: < max per step
    counter.update(raw);
    CHECK(counter.total_uj() >= previous_total);
    previous_total = counter.total_uj();
  }
  CHECK(counter.total_uj() == 1000u * 30'000'000'000u);
}
