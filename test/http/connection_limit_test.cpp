// Which connection the server closes at its limit, and how an episode at the limit is logged.

#include "http/connection_limit.hpp"

#include <algorithm>
#include <vector>

#include <catch2/catch.hpp>

using namespace kepler;
using namespace std::chrono_literals;

namespace {

const auto t0 = std::chrono::steady_clock::time_point{} + 1h;

eviction_candidate at(connection_phase phase, std::chrono::seconds age, std::size_t address_connections = 1) {
  return {{phase, t0 - age}, address_connections};
}

/// The candidate evict_before puts first.
std::size_t first_to_go(const std::vector<eviction_candidate>& all) {
  return static_cast<std::size_t>(std::min_element(all.begin(), all.end(), evict_before) - all.begin());
}

}  // namespace

TEST_CASE("the address holding the most connections gives one up before any other", "[http][limits]") {
  // An old idle connection alone on its address stays; a fresh request from the crowd goes.
  CHECK(first_to_go({at(connection_phase::idle, 100s, 1), at(connection_phase::request, 1s, 5)}) == 1);
}

TEST_CASE("among equals, the connection least worth keeping goes first, then the oldest", "[http][limits]") {
  using p = connection_phase;
  CHECK(first_to_go({at(p::response, 50s), at(p::request, 40s), at(p::idle, 1s), at(p::lingering, 0s)}) == 3);
  CHECK(first_to_go({at(p::response, 50s), at(p::request, 40s), at(p::idle, 1s)}) == 2);
  CHECK(first_to_go({at(p::response, 50s), at(p::request, 1s)}) == 1);  // a stalled request before an unread answer
  CHECK(first_to_go({at(p::request, 2s), at(p::request, 9s), at(p::request, 5s)}) == 1);  // the newest goes last
}

TEST_CASE("a request waiting for a worker goes last, a closed connection never", "[http][limits]") {
  using p = connection_phase;
  CHECK(first_to_go({at(p::working, 50s), at(p::response, 1s)}) == 1);
  CHECK(evictable(p::working));
  CHECK_FALSE(evictable(p::closed));
}

TEST_CASE("an episode at the limit is logged once when it begins and once when it ends", "[http][limits]") {
  limit_episode episode;
  const auto began = episode.shed(http_drop::evicted_request, 100, 100);
  REQUIRE(began);
  CHECK_THAT(*began, Catch::Contains("connection limit reached (100 open, at most 100)"));
  for (int i = 0; i < 1000; ++i) CHECK_FALSE(episode.shed(http_drop::evicted_request, 100, 100));
  CHECK_FALSE(episode.shed(http_drop::evicted, 100, 100));
  CHECK_FALSE(episode.shed(http_drop::over_limit, 100, 100));
  CHECK_FALSE(episode.settle(99, 100));  // still near the limit: the same episode
  const auto ended = episode.settle(80, 100);
  REQUIRE(ended);
  CHECK_THAT(*ended, Catch::Contains("closed 1 idle, 1001 with an unfinished request, 0 with an unread response; "
                                     "refused 1"));
  CHECK_FALSE(episode.active());
  CHECK(episode.shed(http_drop::evicted_response, 100, 100));  // a new flood is a new episode
}
