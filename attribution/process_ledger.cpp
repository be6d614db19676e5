#include "attribution/process_ledger.hpp"

#include <algorithm>

#include "attribution/scale.hpp"

namespace kepler {

std::vector<ended_process> process_ledger::apply_scan(const process_table& table, bool has_baseline,
                                                      uint64_t previous_uptime_ns) {
  ++scan_number_;
  window_cpu_ns_ = 0;
  for (auto& row : rows_) row.window_cpu_ns = 0;
  std::fill(window_uj_.begin(), window_uj_.end(), 0);
  for (const auto& sample : table.processes) {
    auto it = index_.find(sample.key);
    if (it == index_.end()) {
      uint64_t start_ns = sample.key.start_ticks * table.ns_per_tick;
      bool started_in_window = has_baseline && (table.counters_from_zero || start_ns >= previous_uptime_ns);
      append(sample, started_in_window ? sample.cpu_ns : 0);
      continue;
    }
    auto& row = rows_[it->second];
    // CPU time never decreases for one (pid, start time); guard anyway.
    uint64_t delta = sample.cpu_ns > row.cpu_ns ? sample.cpu_ns - row.cpu_ns : 0;
    row.cpu_ns = std::max(row.cpu_ns, sample.cpu_ns);
    row.window_cpu_ns = delta;
    window_cpu_ns_ += delta;
    seen_in_scan_[it->second] = scan_number_;
  }
  std::vector<ended_process> ended;
  for (std::size_t i = rows_.size(); i-- > 0;) {
    if (seen_in_scan_[i] != scan_number_) ended.push_back(remove(i));
  }
  return ended;
}

void process_ledger::append(const process_sample& sample, uint64_t delta_ns) {
  index_.emplace(sample.key, rows_.size());
  rows_.push_back(process_row{sample.key, sample.info, sample.cpu_ns, delta_ns, 0});
  seen_in_scan_.push_back(scan_number_);
  energy_uj_.resize(energy_uj_.size() + zone_count_, 0);
  watts_.resize(watts_.size() + zone_count_, 0.0);
  window_uj_.resize(window_uj_.size() + zone_count_, 0);
  group_slots_.emplace_back().fill(-1);  // unresolved at every level
  window_cpu_ns_ += delta_ns;
}

ended_process process_ledger::remove(std::size_t row) {
  std::size_t last = rows_.size() - 1;
  auto zone_begin = [this](std::size_t r) { return r * zone_count_; };
  ended_process ended{rows_[row],
                      {energy_uj_.begin() + zone_begin(row), energy_uj_.begin() + zone_begin(row) + zone_count_}};
  index_.erase(rows_[row].key);
  if (row != last) {
    rows_[row] = std::move(rows_[last]);
    seen_in_scan_[row] = seen_in_scan_[last];
    group_slots_[row] = group_slots_[last];
    std::copy_n(energy_uj_.begin() + zone_begin(last), zone_count_, energy_uj_.begin() + zone_begin(row));
    std::copy_n(watts_.begin() + zone_begin(last), zone_count_, watts_.begin() + zone_begin(row));
    std::copy_n(window_uj_.begin() + zone_begin(last), zone_count_, window_uj_.begin() + zone_begin(row));
    index_[rows_[row].key] = row;
  }
  rows_.pop_back();
  seen_in_scan_.pop_back();
  group_slots_.pop_back();
  energy_uj_.resize(zone_begin(last));
  watts_.resize(zone_begin(last));
  window_uj_.resize(zone_begin(last));
  return ended;
}

uint64_t process_ledger::distribute(std::size_t zone, uint64_t active_uj, uint64_t pool_ns, double seconds) {
  uint64_t handed_out = 0;
  for (std::size_t i = 0; i < rows_.size(); ++i) {
    std::size_t cell = i * zone_count_ + zone;
    uint64_t delta = rows_[i].window_cpu_ns;
    if (delta == 0 || pool_ns == 0) {
      watts_[cell] = 0;
      continue;
    }
    uint64_t share = scale(active_uj, delta, pool_ns);  // exact, and Σ shares ≤ active
    energy_uj_[cell] += share;
    window_uj_[cell] = share;
    watts_[cell] = seconds > 0 ? static_cast<double>(share) / 1e6 / seconds : 0;
    handed_out += share;
  }
  return handed_out;
}

uint64_t process_ledger::zone_total_uj(std::size_t zone) const {
  uint64_t total = 0;
  for (std::size_t i = 0; i < rows_.size(); ++i) total += energy_uj_[i * zone_count_ + zone];
  return total;
}

}  // namespace kepler
