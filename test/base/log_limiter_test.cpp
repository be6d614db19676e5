#include "base/log_limiter.hpp"

#include <catch2/catch.hpp>

using namespace kepler;
using namespace std::chrono_literals;

TEST_CASE("a kind is logged at most once per interval, with how many were held back") {
  log_limiter limiter(60s);
  constexpr int64_t s = 1'000'000'000;
  CHECK(limiter.admit("request_timeout", 0) == 0u);  // the first of a kind goes through
  CHECK_FALSE(limiter.admit("request_timeout", 1 * s));
  CHECK_FALSE(limiter.admit("request_timeout", 59 * s));
  CHECK(limiter.admit("evicted", 2 * s) == 0u);           // kinds are limited apart
  CHECK(limiter.admit("request_timeout", 60 * s) == 2u);  // a minute on: the two held back
  CHECK(limiter.admit("request_timeout", 200 * s) == 0u);
}
