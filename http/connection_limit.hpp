#pragma once
// What the metrics server does at its connection limit: which connection to close so that a
// new one gets in, and when to say so in the log (once when the limit is reached, once when
// the flood is over, with how many were closed).

#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include "http/connection_drops.hpp"
#include "http/http_session.hpp"

namespace kepler {

/// An open connection as the server sees it when it must close one.
struct eviction_candidate {
  connection_status status;
  std::size_t address_connections = 0;  ///< connections open from the same client address
};

/// Whether `a` should be closed before `b` to admit a new connection. First the address
/// holding the most connections, so that one address (a scanner, a stuck sidecar) cannot push
/// out the others; then the connection least worth keeping: lingering after its answer, idle
/// on keep-alive, an unfinished request, a response not read, a request waiting for a worker;
/// within a phase the oldest, so the newest connection (the scrape that just arrived) is the
/// last to go.
bool evict_before(const eviction_candidate& a, const eviction_candidate& b);

/// Whether a connection in this phase can be closed to make room (not when it already is).
constexpr bool evictable(connection_phase phase) { return phase != connection_phase::closed; }

/// One episode at the connection limit, for the log: a line when it begins and one when it
/// ends, however many connections are closed in between (each is counted in
/// kepler_http_dropped_connections_total{reason}).
class limit_episode {
 public:
  /// A connection was closed or refused at the limit: the line to log if this begins an episode.
  std::optional<std::string> shed(http_drop reason, std::size_t open, std::size_t limit);
  /// Called periodically during an episode: the line to log if it is over (fewer than 7/8 of
  /// the limit open, so that a flood hovering at the limit is one episode, not many).
  std::optional<std::string> settle(std::size_t open, std::size_t limit);
  bool active() const { return active_; }

 private:
  bool active_ = false;
  std::chrono::steady_clock::time_point began_;
  std::array<std::uint64_t, 4> shed_{};  // idle, request, response, refused
};

}  // namespace kepler
