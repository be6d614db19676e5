#include "sensors/platform/platform_feed.hpp"

#include <catch2/catch.hpp>

namespace kepler {
namespace {

constexpr int64_t s = 1'000'000'000;

redfish_node_power watts(double w, std::optional<double> joules = std::nullopt) {
  return redfish_node_power{"1U", "test", w, joules};
}

}  // namespace

TEST_CASE("power is held forward from each reading, never past the staleness", "[platform]") {
  platform_energy energy(30 * s);
  CHECK(energy.energy_at(0).error_kind() == errc::unavailable);
  energy.add(watts(100), 10 * s);
  CHECK(energy.energy_at(10 * s).value() == 0);
  CHECK(energy.energy_at(15 * s).value() == 500'000'000);  // 100 W for 5 s
  energy.add(watts(200), 20 * s);                          // 100 W for 10 s settled
  CHECK(energy.energy_at(20 * s).value() == 1'000'000'000);
  CHECK(energy.energy_at(25 * s).value() == 2'000'000'000);
  // Stale after 30 s without a reading: nothing is reported, and nothing invented for the gap.
  auto stale = energy.energy_at(51 * s);
  REQUIRE_FALSE(stale.ok());
  CHECK_THAT(stale.error_message(), Catch::Contains("the last reading is 31 s old (staleness 30 s)"));
  energy.add(watts(50), 100 * s);  // 200 W counted for 30 s only
  CHECK(energy.energy_at(100 * s).value() == 1'000'000'000 + 6'000'000'000);
}

TEST_CASE("a BMC energy counter covers gaps, and the total never runs backwards", "[platform]") {
  platform_energy energy(30 * s);
  energy.add(watts(100, 1000.0), 0);
  CHECK(energy.energy_at(10 * s).value() == 1'000'000'000);  // filled in at 100 W
  energy.add(watts(100, 1500.0), 10 * s);                    // the counter says 500 J, not 1000
  CHECK(energy.energy_at(10 * s).value() == 1'000'000'000);  // held, not decreased
  CHECK(energy.energy_at(12 * s).value() == 1'000'000'000);  // 500 + 200 J < 1000 J reported
  energy.add(watts(100, 3000.0), 20 * s);
  CHECK(energy.energy_at(20 * s).value() == 2'000'000'000);  // the counter's 2000 J since the start
  energy.add(watts(100, 9000.0), 80 * s);                    // a 60 s outage: measured by the counter
  CHECK(energy.energy_at(80 * s).value() == 8'000'000'000);
}

TEST_CASE("a counter that goes back (a reset) falls back to the held power", "[platform]") {
  platform_energy energy(30 * s);
  energy.add(watts(100, 5000.0), 0);
  energy.add(watts(100, 10.0), 10 * s);
  CHECK(energy.energy_at(10 * s).value() == 1'000'000'000);
  energy.add(watts(100, 1010.0), 20 * s);
  CHECK(energy.energy_at(20 * s).value() == 2'000'000'000);
}

TEST_CASE("BMC errors are classified for kepler_platform_errors_total", "[platform]") {
  CHECK(classify_bmc_error(make_error(errc::connect, "x")) == bmc_fault::unreachable);
  CHECK(classify_bmc_error(make_error(errc::io, "x")) == bmc_fault::unreachable);
  CHECK(classify_bmc_error(make_error(errc::tls, "x")) == bmc_fault::tls);
  CHECK(classify_bmc_error(make_error(errc::timeout, "x")) == bmc_fault::timeout);
  CHECK(classify_bmc_error(make_error(errc::auth, "x", 401)) == bmc_fault::auth);
  CHECK(classify_bmc_error(make_error(errc::http_status, "x", 429)) == bmc_fault::rate_limited);
  CHECK(classify_bmc_error(make_error(errc::http_status, "x", 503)) == bmc_fault::rate_limited);
  CHECK(classify_bmc_error(make_error(errc::http_status, "x", 500)) == bmc_fault::http_error);
  CHECK(classify_bmc_error(make_error(errc::parse, "x")) == bmc_fault::bad_response);
  CHECK(classify_bmc_error(make_error(errc::unavailable, "x")) == bmc_fault::no_reading);
}

TEST_CASE("the feed reports the latest series while fresh, and counts every fault kind", "[platform]") {
  platform_feed feed("bmc-1", std::chrono::seconds(30));
  auto empty = feed.report(0);
  CHECK(empty.errors.size() == enum_texts(bmc_fault{}).size());
  CHECK_FALSE(empty.reading_age_seconds);
  redfish_poll poll;
  poll.series.push_back({"1U", "0", "System Input Power", "PowerControl", 344});
  poll.node = watts(374);
  feed.record_poll(poll, 10 * s);
  feed.record_failure(bmc_fault::timeout);
  auto fresh = feed.report(15 * s);
  CHECK(fresh.series.size() == 1);
  CHECK(*fresh.reading_age_seconds == Approx(5));
  CHECK(fresh.method == "integrated_power");
  CHECK(fresh.errors.at("timeout") == 1);
  CHECK(feed.energy_uj(15 * s).value() == 1'870'000'000);
  CHECK(feed.report(41 * s).series.empty());
}

}  // namespace kepler
