#include "sensors/platform/bmc_poll_policy.hpp"

#include <catch2/catch.hpp>

namespace kepler {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

bmc_poll_policy policy() {
  return bmc_poll_policy("bmc-1", seconds(10), [] { return 0.5; });
}

}  // namespace

TEST_CASE("a BMC is polled at the interval while it answers", "[platform]") {
  auto p = policy();
  auto step = p.succeeded();
  CHECK(step.next_poll == seconds(10));
  CHECK_FALSE(step.note);
}

TEST_CASE("failures back off to five minutes and are logged once per change of kind", "[platform]") {
  auto p = policy();
  auto timeout = make_error(errc::timeout, "GET /redfish/v1/: no answer within 5000 ms");
  auto first = p.failed(timeout, std::nullopt);
  CHECK(first.next_poll == seconds(10));
  REQUIRE(first.note);
  CHECK(first.note->warning);
  CHECK(first.note->text ==
        "BMC bmc-1: timeout: GET /redfish/v1/: no answer within 5000 ms; next try in 10 s "
        "(logged again when the failure changes)");
  auto second = p.failed(timeout, std::nullopt);
  CHECK(second.next_poll == seconds(20));
  CHECK_FALSE(second.note);
  for (int i = 0; i < 10; ++i) second = p.failed(timeout, std::nullopt);
  CHECK(second.next_poll == bmc_poll_policy::longest_wait);
  auto refused = p.failed(make_error(errc::auth, "HTTP 401", 401), std::nullopt);
  REQUIRE(refused.note);
  CHECK_THAT(refused.note->text, Catch::StartsWith("BMC bmc-1: auth: HTTP 401"));
  CHECK_FALSE(refused.rediscover);
  auto back = p.succeeded();
  REQUIRE(back.note);
  CHECK(back.note->text == "BMC bmc-1 answers again after 13 failed poll(s)");
  CHECK(p.failed(timeout, std::nullopt).next_poll == seconds(10));  // the backoff starts over
}

TEST_CASE("Retry-After is honoured within the interval and five minutes", "[platform]") {
  auto p = policy();
  auto busy = make_error(errc::http_status, "HTTP 429", 429);
  CHECK(p.failed(busy, seconds(30)).next_poll == seconds(30));
  CHECK(p.failed(busy, seconds(1)).next_poll == seconds(10));
  CHECK(p.failed(busy, seconds(3600)).next_poll == bmc_poll_policy::longest_wait);
}

TEST_CASE("garbage, a vanished resource or no reading start the discovery over", "[platform]") {
  auto p = policy();
  CHECK(p.failed(make_error(errc::parse, "not JSON"), std::nullopt).rediscover);
  CHECK(p.failed(make_error(errc::http_status, "HTTP 404", 404), std::nullopt).rediscover);
  CHECK(p.failed(make_error(errc::unavailable, "no power reading"), std::nullopt).rediscover);
  CHECK_FALSE(p.failed(make_error(errc::http_status, "HTTP 500", 500), std::nullopt).rediscover);
  CHECK_FALSE(p.failed(make_error(errc::connect, "refused"), std::nullopt).rediscover);
}

}  // namespace kepler
