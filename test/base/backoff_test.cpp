#include <catch2/catch.hpp>
#include <chrono>

#include "base/backoff.hpp"

using namespace kepler;
using namespace std::chrono_literals;

TEST_CASE("backoff doubles up to its cap, jittered by at most 20 %, and resets") {
  double draw = 0.5;  // no jitter: 0.8 + 0.4 × 0.5 = 1
  backoff delay(100ms, 1000ms, [&] { return draw; });
  CHECK(delay.next() == 100ms);
  CHECK(delay.next() == 200ms);
  CHECK(delay.next() == 400ms);
  CHECK(delay.next() == 800ms);
  CHECK(delay.next() == 1000ms);
  CHECK(delay.next() == 1000ms);
  draw = 0.0;
  CHECK(delay.next() == 800ms);  // the cap, 20 % early
  delay.reset();
  draw = 0.999;
  CHECK(delay.next() >= 119ms);
  CHECK(delay.next() <= 240ms);
}
