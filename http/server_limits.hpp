#pragma once
// What one client may cost the metrics server: connections, time and bytes.

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>

namespace kepler {

/// Limits that keep slow or hostile clients from holding the server. The defaults suit
/// Prometheus scraping a node (a few scrapers and probes, keep-alive between scrapes) and let
/// a scrape through floods of clients that connect and then stall.
struct server_limits {
  /// Open connections at most (the daemon lowers it to what RLIMIT_NOFILE allows, see
  /// connection_cap). At the limit a new connection is always admitted and another one closed
  /// to make room: from the address holding the most connections, the one that is least worth
  /// keeping (see metrics_server.cpp, choose_victim). Only when every connection is busy on a
  /// worker (bcrypt, first rendering) is the new one closed instead.
  std::size_t max_connections = 2048;
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

/// The connection limit for a process that may open `file_limit` descriptors (RLIMIT_NOFILE):
/// `ceiling`, or half the descriptors if that is less, so that connections can never starve
/// the daemon's own reads (/proc, sysfs, eBPF maps) of descriptors; at least 8.
constexpr std::size_t connection_cap(std::size_t ceiling, std::uint64_t file_limit) {
  const auto half = static_cast<std::size_t>(std::min<std::uint64_t>(file_limit / 2, ceiling));
  return std::max<std::size_t>(std::min(ceiling, half), 8);
}

}  // namespace kepler
