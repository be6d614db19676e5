#include "http/connection_limit.hpp"

#include <tuple>

namespace kepler {
namespace {

/// 0 for the connections cheapest to close.
int keep_worth(connection_phase phase) {
  switch (phase) {
    case connection_phase::lingering: return 0;
    case connection_phase::idle: return 1;
    case connection_phase::request: return 2;
    case connection_phase::response: return 3;
    case connection_phase::working: return 4;  // most likely a scraper whose answer is nearly made
    default: return 5;                         // closed: never chosen (see evictable)
  }
}

std::size_t slot(http_drop reason) {
  switch (reason) {
    case http_drop::evicted: return 0;
    case http_drop::evicted_request: return 1;
    case http_drop::evicted_response: return 2;
    default: return 3;
  }
}

}  // namespace

bool evict_before(const eviction_candidate& a, const eviction_candidate& b) {
  // More connections first (hence b before a), then cheaper phases, then older.
  return std::tuple(b.address_connections, keep_worth(a.status.phase), a.status.since) <
         std::tuple(a.address_connections, keep_worth(b.status.phase), b.status.since);
}

std::optional<std::string> limit_episode::shed(http_drop reason, std::size_t open, std::size_t limit) {
  ++shed_[slot(reason)];
  if (active_) return std::nullopt;
  active_ = true;
  began_ = std::chrono::steady_clock::now();
  return "connection limit reached (" + std::to_string(open) + " open, at most " + std::to_string(limit) +
         "): closing the idle, stalled or unread connections of the busiest client addresses, oldest first, "
         "to admit new ones; logged again when it is over";
}

std::optional<std::string> limit_episode::settle(std::size_t open, std::size_t limit) {
  if (!active_ || open * 8 >= limit * 7) return std::nullopt;
  const auto seconds =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::steady_clock::now() - began_).count();
  auto text = "connection limit no longer reached (" + std::to_string(open) + " open) after " +
              std::to_string(seconds) + " s: closed " + std::to_string(shed_[0]) + " idle, " +
              std::to_string(shed_[1]) + " with an unfinished request, " + std::to_string(shed_[2]) +
              " with an unread response; refused " + std::to_string(shed_[3]);
  *this = limit_episode{};
  return text;
}

}  // namespace kepler
