#pragma once
// What one client may cost the metrics server: connections, time and bytes.

#include <chrono>
#include <cstddef>
#include <cstdint>

namespace kepler {

/// Limits that keep slow or hostile clients from holding the server. The defaults suit
/// Prometheus scraping a node: a few scrapers and probes, keep-alive between scrapes.
struct server_limits {
  /// Open connections at most. At the limit, the keep-alive connection idle longest is closed
  /// to make room; if none is idle, the new connection is closed at once.
  std::size_t max_connections = 64;
  /// From connect (TLS handshake included), or from the first byte of a later request, to the
  /// end of that request: a client sending a byte a second is cut off after this (slowloris).
  std::chrono::milliseconds header_timeout{std::chrono::seconds(10)};
  /// How long a keep-alive connection may wait for its next request (above scrape intervals,
  /// so that scrapers keep their connection and TLS session).
  std::chrono::milliseconds idle_timeout{std::chrono::seconds(120)};
  /// To send one response. A scraper reading a byte a second holds one shared document (no
  /// copy) for at most this long.
  std::chrono::milliseconds write_timeout{std::chrono::seconds(30)};
  /// Request line and headers, in bytes; more gets 431.
  std::uint32_t header_limit = 8 * 1024;
  /// Request body, in bytes (GET and HEAD carry none worth reading); more gets 413.
  std::uint64_t body_limit = 1024;
};

}  // namespace kepler
