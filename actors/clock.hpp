#pragma once
// The two clocks every measurement carries (ARCHITECTURE §3).

#include <chrono>
#include <cstdint>

namespace kepler {

/// CLOCK_MONOTONIC in nanoseconds: for deltas and rates.
inline int64_t monotonic_now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

/// Wall-clock time in nanoseconds since the Unix epoch: for logs and output.
inline int64_t wall_now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace kepler
