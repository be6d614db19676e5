#include "attribution/process_series_cap.hpp"

#include <algorithm>

namespace kepler {

process_series_cap::process_series_cap(std::size_t limit, std::size_t zone_count, std::size_t primary_zone)
    : limit_(limit), zone_count_(zone_count), primary_zone_(primary_zone) {}

void process_series_cap::apply(const process_ledger& processes) {
  rank(processes);
  for (auto& [id, others] : others_) std::fill(others.watts.begin(), others.watts.end(), 0.0);
  const auto& rows = processes.rows();
  std::vector<bool> in_top(rows.size(), false);
  for (std::size_t row : top_) in_top[row] = true;
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const uint64_t* window = processes.window_uj().data() + i * zone_count_;
    if (in_top[i]) {
      auto& own = own_[rows[i].key];
      if (own.energy_uj.empty()) own.energy_uj.assign(zone_count_, 0);
      for (std::size_t z = 0; z < zone_count_; ++z) own.energy_uj[z] += window[z];
      own.cpu_ns += rows[i].window_cpu_ns;
      continue;
    }
    bool idle =
        rows[i].window_cpu_ns == 0 && std::all_of(window, window + zone_count_, [](uint64_t uj) { return uj == 0; });
    if (idle) continue;  // nothing to route: spare the lookup
    auto& others = others_of(rows[i].info->container_id);
    const double* watts = processes.watts().data() + i * zone_count_;
    for (std::size_t z = 0; z < zone_count_; ++z) {
      others.energy_uj[z] += window[z];
      others.watts[z] += watts[z];
    }
    others.cpu_ns += rows[i].window_cpu_ns;
  }
}

/// The top N by energy in the primary zone in the last window. Ties (idle processes above
/// all) go to the processes with the most energy in their own series, so a process that
/// already has a series keeps it while there is room, then to the lower pid, so the choice
/// is deterministic.
void process_series_cap::rank(const process_ledger& processes) {
  struct candidate {
    uint64_t window_uj, own_uj;
    int32_t pid;
    std::size_t row;
  };
  std::vector<candidate> candidates;
  const auto& rows = processes.rows();
  for (std::size_t i = 0; i < rows.size(); ++i) {
    uint64_t window = processes.window_uj()[i * zone_count_ + primary_zone_];
    auto own = own_.find(rows[i].key);
    if (window == 0 && own == own_.end()) continue;  // nothing to show yet
    candidates.push_back({window, own == own_.end() ? 0 : own->second.energy_uj[primary_zone_], rows[i].key.pid, i});
  }
  auto before = [](const candidate& a, const candidate& b) {
    if (a.window_uj != b.window_uj) return a.window_uj > b.window_uj;
    if (a.own_uj != b.own_uj) return a.own_uj > b.own_uj;
    return a.pid < b.pid;
  };
  std::size_t kept = std::min(limit_, candidates.size());
  std::partial_sort(candidates.begin(), candidates.begin() + static_cast<std::ptrdiff_t>(kept), candidates.end(),
                    before);
  top_.clear();
  for (std::size_t i = 0; i < kept; ++i) top_.push_back(candidates[i].row);
}

process_series_cap::others_counters& process_series_cap::others_of(const std::string& container_id) {
  auto [it, inserted] = others_.try_emplace(container_id);
  if (inserted) {
    it->second.energy_uj.assign(zone_count_, 0);
    it->second.watts.assign(zone_count_, 0.0);
  }
  return it->second;
}

void process_series_cap::expire(const process_ledger& processes, const std::vector<ended<process_row>>& ended,
                                const workload_table& containers) {
  ++expire_round_;
  for (const auto& entry : ended)
    if (auto it = own_.find(entry.row.key); it != own_.end()) it->second.marked = expire_round_;
  std::erase_if(own_, [&](const auto& item) {
    return item.second.marked != expire_round_ && !processes.contains(item.first);
  });
  // An others series lives as long as its container is exported; the one outside containers
  // for ever.
  for (auto& [id, others] : others_) others.in_containers = id.empty();
  auto keep = [this](const workload_row& row) {
    if (auto it = others_.find(row.id()); it != others_.end()) it->second.in_containers = true;
  };
  std::for_each(containers.running.begin(), containers.running.end(), keep);
  std::for_each(containers.terminated.begin(), containers.terminated.end(), keep);
  std::erase_if(others_, [](const auto& item) { return !item.second.in_containers; });
}

capped_process_series process_series_cap::view(const process_ledger& processes,
                                               const std::vector<ended<process_row>>& ended,
                                               const workload_table& containers) const {
  capped_process_series out;
  for (std::size_t row : top_) {
    const auto& own = own_.at(processes.rows()[row].key);
    out.running.push_back(processes.rows()[row]);
    out.running.back().cpu_ns = own.cpu_ns;
    out.running_energy_uj.insert(out.running_energy_uj.end(), own.energy_uj.begin(), own.energy_uj.end());
    auto watts = processes.watts().begin() + static_cast<std::ptrdiff_t>(row * zone_count_);
    out.running_watts.insert(out.running_watts.end(), watts, watts + static_cast<std::ptrdiff_t>(zone_count_));
  }
  for (const auto& entry : ended) {
    auto own = own_.find(entry.row.key);
    if (own == own_.end()) continue;  // never had a series of its own
    out.terminated.push_back(entry.row);
    out.terminated.back().cpu_ns = own->second.cpu_ns;
    out.terminated_energy_uj.insert(out.terminated_energy_uj.end(), own->second.energy_uj.begin(),
                                    own->second.energy_uj.end());
  }
  if (auto outside = others_.find(""); outside != others_.end()) add_others({"", false, 0}, outside->second, out);
  for (bool terminated : {false, true}) {
    for (const auto& row : terminated ? containers.terminated : containers.running)
      if (auto it = others_.find(row.id()); it != others_.end()) add_others({row.id(), terminated, 0}, it->second, out);
  }
  return out;
}

void process_series_cap::add_others(const capped_process_series::others_row& row, const others_counters& counters,
                                    capped_process_series& out) const {
  out.others.push_back(row);
  out.others.back().cpu_ns = counters.cpu_ns;
  out.others_energy_uj.insert(out.others_energy_uj.end(), counters.energy_uj.begin(), counters.energy_uj.end());
  if (row.terminated) {
    out.others_watts.insert(out.others_watts.end(), zone_count_, 0.0);
  } else {
    out.others_watts.insert(out.others_watts.end(), counters.watts.begin(), counters.watts.end());
  }
}

}  // namespace kepler
