#include "sensors/power/fake_meter.hpp"

#include <algorithm>
#include <cctype>
#include <utility>

namespace kepler {

double fake_zone_scale(const std::string& zone_name) {
  std::string name(zone_name);
  std::transform(name.begin(), name.end(), name.begin(),
                 [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  if (name == "package") return 1.0;
  if (name == "core") return 0.7;
  if (name == "uncore") return 0.1;
  if (name == "dram") return 0.15;
  return 0.5;
}

fake_zone::fake_zone(std::string name, fake_meter_model model, std::string procfs_root, clock_fn now)
    : name_(std::move(name)),
      model_(model),
      procfs_root_(std::move(procfs_root)),
      now_(std::move(now)),
      scale_(fake_zone_scale(name_)) {
  if (!now_) {
    now_ = [] { return std::chrono::steady_clock::now().time_since_epoch(); };
  }
}

std::string fake_zone::path() const { return "/sys/class/powercap/intel-rapl/energy_" + name_; }

result<uint64_t> fake_zone::read_energy_uj() {
  auto text = read_text_file(procfs_root_ + "/stat");
  if (!text) return make_error(text.error_message());
  auto cpu = parse_proc_stat(text.value());
  if (!cpu) return make_error(procfs_root_ + "/stat: " + cpu.error_message());
  const auto now = now_();

  if (started_) {
    // Power over the window since the last read, from the same window's CPU usage.
    const double usage = usage_ratio(last_cpu_, cpu.value());
    const double watts = scale_ * (model_.idle_watts + (model_.max_watts - model_.idle_watts) * usage);
    const auto elapsed_ns = std::max<int64_t>(0, (now - last_time_).count());
    energy_uj_ += watts * static_cast<double>(elapsed_ns) / 1000.0;  // W × ns = 1e-3 µJ
  }
  started_ = true;
  last_time_ = now;
  last_cpu_ = cpu.value();
  // Rounding a non-decreasing accumulator keeps the counter monotonic.
  return static_cast<uint64_t>(energy_uj_ + 0.5);
}

}  // namespace kepler
