#pragma once
// The last 15 minutes of node power, one point per snapshot, for the page's chart: a ring
// whose memory is allocated once and bounded (README "The page").

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "attribution/snapshot.hpp"

namespace kepler {

/// Wall-clock nanoseconds as seconds, without the rounding of converting the whole count.
inline double wall_seconds(int64_t ns) {
  return static_cast<double>(ns / 1'000'000'000) + static_cast<double>(ns % 1'000'000'000) / 1e9;
}

/// Points of the history, oldest first.
struct history_points {
  std::vector<std::string> zones;  ///< the columns of `watts`
  std::vector<double> times;       ///< wall clock seconds
  std::vector<double> watts;       ///< row-major: `watts[i * zones.size() + z]`; NaN where unknown
};

/// Node watts per zone and the exporter's CPU, one point per snapshot, for the last `window`.
/// Thread-safe: the HTTP server actor records, summaries read (on the server's workers).
class power_history {
 public:
  static constexpr std::chrono::minutes window{15};
  /// The most points kept, whatever the interval (15 minutes at 1 s).
  static constexpr std::size_t max_points = 900;

  /// Points enough for `window` at `interval`: at least 2, at most max_points.
  static std::size_t capacity_for(std::chrono::nanoseconds interval);

  explicit power_history(std::size_t capacity);

  /// Adds `snap`'s point, replacing the oldest when full; returns its mark for until() and
  /// cpu_ratio(). The zones are those of the first snapshot recorded; a later snapshot's zones
  /// are matched by name. O(zones); allocates only on the first call.
  uint64_t record(const snapshot& snap);

  /// The points recorded up to and including `mark`, still held.
  history_points until(uint64_t mark) const;

  /// The exporter's CPU time per wall time between the point before `mark` and `mark`;
  /// nullopt for the first point or one no longer held.
  std::optional<double> cpu_ratio(uint64_t mark) const;

  std::size_t capacity() const { return capacity_; }
  std::size_t size() const;
  /// Bytes the points take once allocated (the bound the README states): capacity × (16 + 8 × zones).
  std::size_t bytes() const;

 private:
  std::size_t slot(uint64_t mark) const { return static_cast<std::size_t>(mark % capacity_); }
  bool held(uint64_t mark) const { return mark < recorded_ && recorded_ - mark <= capacity_; }
  void allocate(const snapshot& snap);

  const std::size_t capacity_;
  mutable std::mutex mutex_;
  std::vector<std::string> zones_;
  std::vector<double> times_;  // per slot
  std::vector<double> cpu_;    // per slot: CPU ratio, NaN when unknown
  std::vector<double> watts_;  // per slot × zone
  uint64_t recorded_ = 0;      // points ever recorded: the next mark
  double last_cpu_seconds_ = 0;
  int64_t last_mono_ns_ = 0;
};

}  // namespace kepler
