#pragma once
// The clocks measurements carry: monotonic for deltas and rates, wall for logs and output,
// and the boot clock that process start times count on.

#include <time.h>

#include <chrono>
#include <cstdint>

namespace kepler {

/// CLOCK_MONOTONIC in nanoseconds: for deltas and rates.
inline int64_t monotonic_now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

/// Wall-clock time in nanoseconds since the Unix epoch: for logs and output.
inline int64_t wall_now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

/// CLOCK_BOOTTIME in nanoseconds: the clock process start times are counted on.
inline uint64_t boot_clock_ns() {
  timespec now{};
  ::clock_gettime(CLOCK_BOOTTIME, &now);
  return static_cast<uint64_t>(now.tv_sec) * 1'000'000'000 + static_cast<uint64_t>(now.tv_nsec);
}

}  // namespace kepler
