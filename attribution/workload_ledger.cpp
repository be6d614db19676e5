#include "attribution/workload_ledger.hpp"

#include <algorithm>

namespace kepler {

workload_ledger::workload_ledger(id_of id, std::size_t level, std::size_t zone_count, terminated_policy policy,
                                 std::size_t primary_zone, bool track_outside)
    : id_(id),
      level_(level),
      zone_count_(zone_count),
      track_outside_(track_outside),
      terminated_(policy, zone_count, primary_zone),
      outside_uj_(zone_count, 0) {}

void workload_ledger::apply(process_ledger& processes, int64_t now_mono_ns) {
  ++apply_count_;
  std::fill(watts_.begin(), watts_.end(), 0.0);
  const auto& rows = processes.rows();
  for (std::size_t i = 0; i < rows.size(); ++i) {
    const uint64_t* window = processes.window_uj().data() + i * zone_count_;
    int32_t& slot_index = processes.group_slot(i, level_);
    if (slot_index == unresolved) {
      const std::string& id = id_(*rows[i].info);
      slot_index = id.empty() ? no_workload : resolve(id, rows[i]);
    }
    if (slot_index == no_workload) {
      if (track_outside_)
        for (std::size_t z = 0; z < zone_count_; ++z) outside_uj_[z] += window[z];
      continue;
    }
    auto index = static_cast<std::size_t>(slot_index);
    const double* watts = processes.watts().data() + i * zone_count_;
    uint64_t* energy_sum = energy_uj_.data() + index * zone_count_;
    double* watts_sum = watts_.data() + index * zone_count_;
    for (std::size_t z = 0; z < zone_count_; ++z) {
      energy_sum[z] += window[z];
      watts_sum[z] += watts[z];
    }
    cpu_ns_[index] += rows[i].window_cpu_ns;
    seen_in_apply_[index] = apply_count_;
  }
  end_unseen(now_mono_ns);
}

int32_t workload_ledger::resolve(const std::string& id, const process_row& process) {
  auto [it, inserted] = by_id_.try_emplace(id, -1);
  if (!inserted) return it->second;
  int32_t index;
  if (free_slots_.empty()) {
    index = static_cast<int32_t>(slots_.size());
    slots_.emplace_back();
    energy_uj_.resize(energy_uj_.size() + zone_count_, 0);
    watts_.resize(watts_.size() + zone_count_, 0.0);
    cpu_ns_.push_back(0);
    seen_in_apply_.push_back(0);
  } else {
    index = free_slots_.back();
    free_slots_.pop_back();
  }
  auto at = static_cast<std::size_t>(index);
  slots_[at] = slot{true, workload_row{process.info, &id_(*process.info), 0, 0}};
  cpu_ns_[at] = 0;
  seen_in_apply_[at] = apply_count_;
  it->second = index;
  return index;
}

void workload_ledger::end_unseen(int64_t now_mono_ns) {
  std::vector<ended<workload_row>> gone;
  for (std::size_t i = 0; i < slots_.size(); ++i) {
    slot& s = slots_[i];
    if (!s.live || seen_in_apply_[i] == apply_count_) continue;
    by_id_.erase(s.row.id());
    s.row.cpu_ns = cpu_ns_[i];
    auto energy = energy_uj_.begin() + static_cast<std::ptrdiff_t>(i * zone_count_);
    gone.push_back(ended<workload_row>{std::move(s.row), {energy, energy + static_cast<std::ptrdiff_t>(zone_count_)}});
    std::fill(energy, energy + static_cast<std::ptrdiff_t>(zone_count_), 0);
    s = slot{};
    free_slots_.push_back(static_cast<int32_t>(i));
  }
  if (!gone.empty()) terminated_.add(std::move(gone), now_mono_ns);
}

workload_table workload_ledger::table() const {
  workload_table out;
  out.running.reserve(by_id_.size());
  for (std::size_t i = 0; i < slots_.size(); ++i) {
    if (!slots_[i].live) continue;
    out.running.push_back(slots_[i].row);
    out.running.back().cpu_ns = cpu_ns_[i];
    auto at = static_cast<std::ptrdiff_t>(i * zone_count_), n = static_cast<std::ptrdiff_t>(zone_count_);
    out.running_energy_uj.insert(out.running_energy_uj.end(), energy_uj_.begin() + at, energy_uj_.begin() + at + n);
    out.running_watts.insert(out.running_watts.end(), watts_.begin() + at, watts_.begin() + at + n);
  }
  for (const auto& entry : terminated_.entries()) {
    out.terminated.push_back(entry.row);
    out.terminated_energy_uj.insert(out.terminated_energy_uj.end(), entry.energy_uj.begin(), entry.energy_uj.end());
  }
  return out;
}

}  // namespace kepler
