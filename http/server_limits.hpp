#pragma once
// What one client may cost the metrics server: connections, time and bytes.

#include <chrono>
#include <cstddef>
#include <cstdint>

#include "base/descriptor_budget.hpp"

namespace kepler {

/// Limits that keep slow or hostile clients from holding the server. The defaults suit
/// Prometheus scraping a node (a few scrapers and probes, keep-alive between scrapes) and let
/// a scrape through floods of clients that connect and then stall.
struct server_limits {
  /// Open connections at most (the daemon lowers it to what RLIMIT_NOFILE allows, see
  /// share_descriptors). At the limit a new connection is always admitted and another one closed
  /// to make room: from the address holding the most connections, the one that is least worth
  /// keeping (see connection_limit.hpp, evict_before).
  std::size_t max_connections = max_http_connections;
  /// From connect (TLS handshake included), or from the first byte of a later request, to the
  /// end of that request: a client sending a byte a second is cut off after this (slowloris).
  std::chrono::milliseconds header_timeout{std::chrono::seconds(10)};
  /// How long a keep-alive connection may wait for its next request (above scrape intervals,
  /// so that scrapers keep their connection and TLS session).
  std::chrono::milliseconds idle_timeout{std::chrono::seconds(120)};
  /// To send one response. A scraper reading a byte a second holds one shared document (no
  /// copy) for at most this long.
  std::chrono::milliseconds write_timeout{std::chrono::seconds(30)};
  /// The kernel's send buffer for each connection (SO_SNDBUF; Linux doubles it). Left to
  /// autotuning, loopback and LAN buffers grow to megabytes, so a client that asks for the
  /// whole document and never reads it would park a copy of it in kernel memory, and a
  /// thousand of them gigabytes. 64 KiB still moves an uncompressed document at tens of MB/s
  /// on a LAN, and a gzipped one in a few round trips over a WAN.
  int send_buffer_bytes = 64 * 1024;
  /// Request line and headers, in bytes; more gets 431.
  std::uint32_t header_limit = 8 * 1024;
  /// Request body, in bytes (GET and HEAD carry none worth reading); more gets 413.
  std::uint64_t body_limit = 1024;
};

}  // namespace kepler
