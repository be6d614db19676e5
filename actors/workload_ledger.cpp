#include "actors/workload_ledger.hpp"

#include <algorithm>

namespace kepler {

workload_ledger::workload_ledger(id_of id, std::size_t level, std::size_t zone_count,
                                 terminated_policy policy, std::size_t primary_zone, bool track_outside)
    : id_(id), level_(level), zone_count_(zone_count), track_outside_(track_outside),
      terminated_(policy, zone_count, primary_zone), outside_uj_(zone_count, 0) {}

void workload_ledger::apply(process_ledger& processes, int64_t now_mono_ns) {
  ++apply_count_;
  for (auto& s : slots_)
    if (s.live) std::fill(s.watts.begin(), s.watts.end(), 0.0);
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
    slot& workload = slots_[static_cast<std::size_t>(slot_index)];
    const double* watts = processes.watts().data() + i * zone_count_;
    for (std::size_t z = 0; z < zone_count_; ++z) {
      workload.energy_uj[z] += window[z];
      workload.watts[z] += watts[z];
    }
    workload.row.cpu_ns += rows[i].window_cpu_ns;
    workload.seen_in_apply = apply_count_;
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
  } else {
    index = free_slots_.back();
    free_slots_.pop_back();
  }
  slot& s = slots_[static_cast<std::size_t>(index)];
  s = slot{true, apply_count_, workload_row{id, process.info, 0, 0},
           std::vector<uint64_t>(zone_count_, 0), std::vector<double>(zone_count_, 0.0)};
  it->second = index;
  return index;
}

void workload_ledger::end_unseen(int64_t now_mono_ns) {
  std::vector<ended<workload_row>> gone;
  for (std::size_t i = 0; i < slots_.size(); ++i) {
    slot& s = slots_[i];
    if (!s.live || s.seen_in_apply == apply_count_) continue;
    by_id_.erase(s.row.id);
    gone.push_back(ended<workload_row>{std::move(s.row), std::move(s.energy_uj)});
    s = slot{};
    free_slots_.push_back(static_cast<int32_t>(i));
  }
  if (!gone.empty()) terminated_.add(std::move(gone), now_mono_ns);
}

workload_table workload_ledger::table() const {
  workload_table out;
  out.running.reserve(by_id_.size());
  for (const auto& s : slots_) {
    if (!s.live) continue;
    out.running.push_back(s.row);
    out.running_energy_uj.insert(out.running_energy_uj.end(), s.energy_uj.begin(), s.energy_uj.end());
    out.running_watts.insert(out.running_watts.end(), s.watts.begin(), s.watts.end());
  }
  for (const auto& entry : terminated_.entries()) {
    out.terminated.push_back(entry.row);
    out.terminated_energy_uj.insert(out.terminated_energy_uj.end(), entry.energy_uj.begin(), entry.energy_uj.end());
  }
  return out;
}

}  // namespace kepler
