#include "sensors/power/energy_counter.hpp"

#include <catch2/catch.hpp>

using namespace kepler;

TEST_CASE("a counter that rises gives the plain difference", "[energy_counter]") {
  CHECK(wrapped_delta_uj(100, 250, 1000) == 150);
  CHECK(wrapped_delta_uj(100, 250, 0) == 150);
  CHECK(wrapped_delta_uj(7, 7, 1000) == 0);
}

TEST_CASE("a counter that wraps adds the distance to the range plus the new reading", "[energy_counter]") {
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
  CHECK(counter.update(640).delta_uj == 0);
  CHECK(counter.has_reading());
  CHECK(counter.total_uj() == 0);
  CHECK(counter.last_raw_uj() == 640);
  CHECK(counter.max_energy_uj() == 1000);
}

TEST_CASE("a zone that wraps at every read is counted once per wrap", "[energy_counter]") {
  energy_counter counter(1000);
  counter.update(800);
  CHECK(counter.update(100).delta_uj == 300);  // wrap 1
  CHECK(counter.update(50).delta_uj == 950);   // wrap 2: almost a full range
  CHECK(counter.update(700).delta_uj == 650);
  CHECK(counter.update(200).delta_uj == 500);  // wrap 3
  CHECK(counter.total_uj() == 300 + 950 + 650 + 500);
  CHECK(counter.last_raw_uj() == 200);
}

TEST_CASE("a reset with an unknown range starts a new baseline without losing the total", "[energy_counter]") {
  energy_counter counter(0);
  counter.update(1000);
  CHECK(counter.update(1500).delta_uj == 500);
  CHECK(counter.update(20).verdict == reading_verdict::reset);  // nothing invented
  CHECK(counter.update(70).delta_uj == 50);                     // counted from the reading after the reset
  CHECK(counter.last_raw_uj() == 70);
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

// ---------------------------------------------------------------- plausibility (issue 6)

namespace {
constexpr int64_t ms = 1'000'000;
/// A zone of 1,000 J range that may draw at most 100 W: 1 J per 10 ms, plus 1 J of slack.
constexpr counter_limits hundred_watts{1'000'000'000, 100};
}  // namespace

TEST_CASE("a rise faster than the plausible power is rejected and adds nothing", "[energy_counter]") {
  energy_counter counter(hundred_watts);
  counter.update(0, 0);
  CHECK(counter.update(10'000'000, 90 * ms).delta_uj == 10'000'000);  // 10 J in 90 ms: 100 W + slack
  auto jump = counter.update(500'000'000, 190 * ms);                  // 490 J in 100 ms
  CHECK(jump.verdict == reading_verdict::implausible);
  CHECK(jump.delta_uj == 0);
  CHECK(counter.total_uj() == 10'000'000);
  CHECK(counter.last_raw_uj() == 10'000'000);
}

TEST_CASE("a one-off glitch loses nothing: the next reading counts from the old baseline", "[energy_counter]") {
  energy_counter counter(hundred_watts);
  counter.update(1'000'000, 0);
  CHECK(counter.update(900'000'000, 100 * ms).verdict == reading_verdict::implausible);
  CHECK(counter.update(3'000'000, 200 * ms).delta_uj == 2'000'000);
  CHECK(counter.total_uj() == 2'000'000);
}

TEST_CASE("a counter that jumped for good resumes from the jump after one more reading", "[energy_counter]") {
  energy_counter counter(hundred_watts);
  counter.update(1'000'000, 0);
  CHECK(counter.update(600'000'000, 100 * ms).verdict == reading_verdict::implausible);
  auto resumed = counter.update(605'000'000, 200 * ms);
  CHECK(resumed.verdict == reading_verdict::accepted);
  CHECK(resumed.delta_uj == 5'000'000);  // from the jump on; the jump itself is never counted
  CHECK(counter.total_uj() == 5'000'000);
  CHECK(counter.last_raw_uj() == 605'000'000);
}

TEST_CASE("a drop that a plausible wrap explains is a wrap, one that needs more is a reset", "[energy_counter]") {
  energy_counter counter(hundred_watts);
  counter.update(999'000'000, 0);
  CHECK(counter.update(500'000, 100 * ms).delta_uj == 1'500'000);  // wrapped: 1.5 J in 100 ms
  CHECK(counter.update(50'000'000, 5'000 * ms).delta_uj == 49'500'000);
  auto reset = counter.update(0, 5'100 * ms);  // would be a 950 J wrap in 100 ms
  CHECK(reset.verdict == reading_verdict::reset);
  CHECK(counter.total_uj() == 51'000'000);
  CHECK(counter.update(2'000'000, 5'200 * ms).delta_uj == 2'000'000);  // counted from the reset
  CHECK(counter.total_uj() == 53'000'000);
}

TEST_CASE("a reading beyond the range is rejected and never becomes the baseline", "[energy_counter]") {
  energy_counter counter(hundred_watts);
  CHECK(counter.update(2'000'000'000, 0).verdict == reading_verdict::out_of_range);
  CHECK_FALSE(counter.has_reading());
  counter.update(1'000'000, 0);
  CHECK(counter.update(1'000'000'001, 100 * ms).verdict == reading_verdict::out_of_range);
  CHECK(counter.update(1'000'000'001, 200 * ms).verdict == reading_verdict::out_of_range);
  CHECK(counter.update(4'000'000, 300 * ms).delta_uj == 3'000'000);
}

TEST_CASE("the plausible energy grows with the time between readings", "[energy_counter]") {
  // 100 W over 10 s is 1,000 J (+1 J of slack): a long gap legitimately holds much energy.
  CHECK(judge_delta({0, 0}, {999'000'000, 10'000 * ms}, hundred_watts).delta_uj == 999'000'000);
  CHECK(judge_delta({0, 0}, {999'000'000, 1'000 * ms}, hundred_watts).verdict == reading_verdict::implausible);
  // Without a power bound only the range limits a reading.
  CHECK(judge_delta({0, 0}, {999'000'000, 0}, {1'000'000'000, 0}).delta_uj == 999'000'000);
}

TEST_CASE("rejection reasons have stable label values", "[energy_counter]") {
  CHECK(to_string(reading_verdict::out_of_range) == "out_of_range");
  CHECK(to_string(reading_verdict::reset) == "reset");
  CHECK(to_string(reading_verdict::implausible) == "implausible");
}
