#pragma once
// The exporter's own resource usage (process_* self-metrics).

#include <cstdint>
#include <string>

#include "base/result.hpp"

namespace kepler {

struct self_stats {
  double cpu_seconds = 0;  ///< user + system
  uint64_t resident_bytes = 0;
  uint64_t open_fds = 0;
  double start_time_seconds = 0;  ///< since the Unix epoch
};

/// Reads <procfs>/self/stat, <procfs>/self/fd and the boot time from <procfs>/stat.
result<self_stats> read_self_stats(const std::string& procfs_root);

}  // namespace kepler
