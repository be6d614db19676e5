#pragma once
// How the daemon shares its open files limit (RLIMIT_NOFILE) between the metrics server's
// connections and the procfs scanner's kept /proc files, so that neither can starve the other
// or the rest of the daemon of descriptors.

#include <algorithm>
#include <cstddef>
#include <cstdint>

namespace kepler {

/// The metrics server's connection limit where the open files limit allows it.
inline constexpr std::size_t max_http_connections = 2048;

struct descriptor_budget {
  std::size_t connections = 0;  ///< the metrics server's connection limit
  std::size_t kept_files = 0;   ///< /proc files the procfs scanner may keep open
};

/// The shares of a process whose soft limit is `soft_limit`, `reserved` descriptors left to
/// everything else (listeners, sysfs, eBPF maps, logs): half of the rest, up to
/// `max_connections`, for connections, what remains for kept files. At least 8 connections
/// even when nothing is left: a daemon nobody can scrape is no use.
constexpr descriptor_budget share_descriptors(std::uint64_t soft_limit, std::size_t reserved,
                                              std::size_t max_connections = max_http_connections) {
  const std::uint64_t usable = soft_limit > reserved ? soft_limit - reserved : 0;
  const auto connections = static_cast<std::size_t>(std::min<std::uint64_t>(usable / 2, max_connections));
  return {std::max<std::size_t>(connections, 8), static_cast<std::size_t>(usable - connections)};
}

}  // namespace kepler
