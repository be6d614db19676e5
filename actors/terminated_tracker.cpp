#include "actors/terminated_tracker.hpp"

#include <algorithm>

namespace kepler {

terminated_tracker::terminated_tracker(terminated_policy policy, std::size_t zone_count,
                                       std::size_t primary_zone)
    : policy_(policy), primary_zone_(primary_zone), retired_uj_(zone_count, 0) {}

void terminated_tracker::add(std::vector<ended_process> ended, int64_t now_mono_ns) {
  for (auto& entry : ended) {
    entry.row.terminated_at_mono_ns = now_mono_ns;
    bool below_threshold = entry.energy_uj.empty() ||
                           entry.energy_uj[primary_zone_] < policy_.min_energy_uj;
    if (policy_.max_entries == 0 || below_threshold) {
      retire(entry);
      continue;
    }
    entries_.push_back(std::move(entry));
    if (policy_.max_entries > 0 && entries_.size() > static_cast<std::size_t>(policy_.max_entries))
      evict_lowest();
  }
}

void terminated_tracker::expire(int64_t now_mono_ns) {
  auto expired = [&](const ended_process& e) {
    return now_mono_ns - e.row.terminated_at_mono_ns >= policy_.retention_ns;
  };
  for (const auto& entry : entries_)
    if (expired(entry)) retire(entry);
  std::erase_if(entries_, expired);
}

uint64_t terminated_tracker::zone_total_uj(std::size_t zone) const {
  uint64_t total = 0;
  for (const auto& entry : entries_) total += entry.energy_uj[zone];
  return total;
}

void terminated_tracker::retire(const ended_process& entry) {
  for (std::size_t z = 0; z < entry.energy_uj.size() && z < retired_uj_.size(); ++z)
    retired_uj_[z] += entry.energy_uj[z];
}

void terminated_tracker::evict_lowest() {
  auto lowest = std::min_element(entries_.begin(), entries_.end(), [this](auto& a, auto& b) {
    return a.energy_uj[primary_zone_] < b.energy_uj[primary_zone_];
  });
  retire(*lowest);
  entries_.erase(lowest);
}

}  // namespace kepler
