// The ring of node power behind the page's chart: its bounds and what it returns.

#include "metrics/power_history.hpp"

#include <chrono>
#include <cmath>

#include <catch2/catch.hpp>

using namespace kepler;
using namespace std::chrono_literals;

namespace {

/// A snapshot at `second` with package at `watts` and dram at a tenth of it.
snapshot at(int second, double watts, double cpu_seconds = 0) {
  snapshot snap;
  snap.wall_ns = (1'000'000 + second) * 1'000'000'000LL;
  snap.mono_ns = second * 1'000'000'000LL;
  snap.zones.resize(2);
  snap.zones[0].name = "package";
  snap.zones[0].watts = watts;
  snap.zones[0].total_uj = 1'000'000;
  snap.zones[1].name = "dram";
  snap.zones[1].watts = watts / 10;
  snap.zones[1].total_uj = 1'000'000;
  snap.self.cpu_seconds = cpu_seconds;
  return snap;
}

}  // namespace

TEST_CASE("the ring holds 15 minutes of points, at most 900 and at least 2", "[metrics][history]") {
  CHECK(power_history::capacity_for(5s) == 180);
  CHECK(power_history::capacity_for(1s) == 900);
  CHECK(power_history::capacity_for(7s) == 129);  // 900 / 7 rounded up: the window is covered
  CHECK(power_history::capacity_for(100ms) == power_history::max_points);
  CHECK(power_history::capacity_for(1h) == 2);
  CHECK(power_history::capacity_for(0s) == power_history::max_points);
  CHECK(power_history(1).capacity() == 2);
  CHECK(power_history(100'000).capacity() == power_history::max_points);
}

TEST_CASE("the ring keeps the newest points, oldest first, in bounded memory", "[metrics][history]") {
  power_history history(5);
  CHECK(history.size() == 0);
  CHECK(history.until(0).times.empty());
  uint64_t last = 0;
  for (int i = 0; i < 1000; ++i) last = history.record(at(i, i));
  CHECK(last == 999);
  CHECK(history.size() == 5);
  CHECK(history.bytes() == 5 * (16 + 8 * 2));  // allocated once, never grown
  const auto points = history.until(last);
  CHECK(points.zones == std::vector<std::string>{"package", "dram"});
  CHECK(points.times == std::vector<double>{1'000'995, 1'000'996, 1'000'997, 1'000'998, 1'000'999});
  REQUIRE(points.watts.size() == 10);
  CHECK(points.watts[0] == 995);
  CHECK(points.watts[1] == 99.5);
  CHECK(points.watts[8] == 999);
  // A summary made for an earlier snapshot sees no later point.
  CHECK(history.until(997).times.back() == 1'000'997);
  CHECK(history.until(997).times.size() == 3);
  CHECK(history.until(10).times.empty());  // long gone
}

TEST_CASE("a later snapshot's zones are matched by name; a missing zone is unknown", "[metrics][history]") {
  power_history history(4);
  history.record(at(0, 40));
  auto reordered = at(1, 50);
  std::swap(reordered.zones[0], reordered.zones[1]);
  history.record(reordered);
  auto fewer = at(2, 60);
  fewer.zones.pop_back();  // no dram
  const auto mark = history.record(fewer);
  const auto points = history.until(mark);
  REQUIRE(points.watts.size() == 6);
  CHECK(points.watts[2] == 50);
  CHECK(points.watts[3] == 5);
  CHECK(points.watts[4] == 60);
  CHECK(std::isnan(points.watts[5]));
}

TEST_CASE("a zone's power is unknown until its first energy window", "[metrics][history]") {
  power_history history(4);
  auto first = at(0, 0);
  first.zones[1].total_uj = 0;  // the first snapshot: dram has no window yet
  const auto mark = history.record(first);
  const auto points = history.until(mark);
  CHECK(points.watts[0] == 0);  // package: measured, 0 W
  CHECK(std::isnan(points.watts[1]));
}

TEST_CASE("the exporter's CPU is its CPU time over the monotonic time between points", "[metrics][history]") {
  power_history history(3);
  const auto first = history.record(at(0, 1, 10.0));
  const auto second = history.record(at(5, 1, 10.25));
  auto jumped = at(10, 1, 10.5);
  jumped.wall_ns = 0;  // the wall clock stepped back: the rate does not care
  const auto third = history.record(jumped);
  CHECK_FALSE(history.cpu_ratio(first));
  REQUIRE(history.cpu_ratio(second));
  CHECK(*history.cpu_ratio(second) == Approx(0.05));
  CHECK(*history.cpu_ratio(third) == Approx(0.05));
  for (int i = 0; i < 3; ++i) history.record(at(11 + i, 1, 11));
  CHECK_FALSE(history.cpu_ratio(second));  // no longer held
  CHECK_FALSE(history.cpu_ratio(1000));    // not yet recorded
}
