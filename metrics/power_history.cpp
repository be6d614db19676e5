#include "metrics/power_history.hpp"

#include <algorithm>
#include <limits>

namespace kepler {
namespace {

constexpr double unknown = std::numeric_limits<double>::quiet_NaN();

}  // namespace

std::size_t power_history::capacity_for(std::chrono::nanoseconds interval) {
  if (interval.count() <= 0) return max_points;
  const auto window_ns = std::chrono::duration_cast<std::chrono::nanoseconds>(window).count();
  const auto points = static_cast<std::size_t>((window_ns + interval.count() - 1) / interval.count());
  return std::clamp<std::size_t>(points, 2, max_points);
}

power_history::power_history(std::size_t capacity) : capacity_(std::clamp<std::size_t>(capacity, 2, max_points)) {}

void power_history::allocate(const snapshot& snap) {
  for (const auto& zone : snap.zones) zones_.push_back(zone.name);
  times_.assign(capacity_, 0);
  cpu_.assign(capacity_, unknown);
  watts_.assign(capacity_ * zones_.size(), unknown);
}

uint64_t power_history::record(const snapshot& snap) {
  std::lock_guard guard(mutex_);
  if (recorded_ == 0) allocate(snap);
  const uint64_t mark = recorded_++;
  const std::size_t at = slot(mark);
  times_[at] = wall_seconds(snap.wall_ns);
  // CPU over the monotonic time between two snapshots (the wall clock may jump).
  const double seconds = static_cast<double>(snap.mono_ns - last_mono_ns_) / 1e9;
  cpu_[at] = mark > 0 && seconds > 0 ? std::max(0.0, snap.self.cpu_seconds - last_cpu_seconds_) / seconds : unknown;
  last_cpu_seconds_ = snap.self.cpu_seconds;
  last_mono_ns_ = snap.mono_ns;
  double* row = watts_.data() + at * zones_.size();
  for (std::size_t z = 0; z < zones_.size(); ++z) {
    // The same zones in the same order, as the engine keeps them, is the fast path.
    const node_zone_stats* zone = z < snap.zones.size() && snap.zones[z].name == zones_[z] ? &snap.zones[z] : nullptr;
    if (!zone) {
      auto found =
          std::find_if(snap.zones.begin(), snap.zones.end(), [&](const auto& s) { return s.name == zones_[z]; });
      zone = found == snap.zones.end() ? nullptr : &*found;
    }
    // Before its first window a zone's power is unknown, not 0 W.
    row[z] = zone && zone->total_uj > 0 ? zone->watts : unknown;
  }
  return mark;
}

history_points power_history::until(uint64_t mark) const {
  std::lock_guard guard(mutex_);
  history_points points;
  points.zones = zones_;
  if (recorded_ == 0) return points;
  const uint64_t last = std::min(mark, recorded_ - 1);
  const uint64_t first = recorded_ > capacity_ ? recorded_ - capacity_ : 0;
  if (last < first) return points;
  const std::size_t count = static_cast<std::size_t>(last - first + 1);
  points.times.reserve(count);
  points.watts.reserve(count * zones_.size());
  for (uint64_t m = first; m <= last; ++m) {
    const std::size_t at = slot(m);
    points.times.push_back(times_[at]);
    points.watts.insert(points.watts.end(), watts_.begin() + at * zones_.size(),
                        watts_.begin() + (at + 1) * zones_.size());
  }
  return points;
}

std::optional<double> power_history::cpu_ratio(uint64_t mark) const {
  std::lock_guard guard(mutex_);
  if (!held(mark)) return std::nullopt;
  const double ratio = cpu_[slot(mark)];
  if (ratio != ratio) return std::nullopt;  // NaN: the first point
  return ratio;
}

std::size_t power_history::size() const {
  std::lock_guard guard(mutex_);
  return static_cast<std::size_t>(std::min<uint64_t>(recorded_, capacity_));
}

std::size_t power_history::bytes() const {
  std::lock_guard guard(mutex_);
  return (times_.capacity() + cpu_.capacity() + watts_.capacity()) * sizeof(double);
}

}  // namespace kepler
