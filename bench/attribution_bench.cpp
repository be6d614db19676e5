// One attribution interval (process shares, container and VM sums, snapshot copy).
// Budgets: 10,000 processes × 3 zones ≤ 1 ms per interval (issue #2); 5,000 processes in
// 200 containers no more than 10 % above 5,000 processes without containers (issue #3).
// Not a test: prints the figures.

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "attribution/attribution.hpp"
#include "test/support/process_info.hpp"

using namespace kepler;

namespace {

constexpr uint64_t ns_per_tick = 10'000'000;

process_table make_table(int processes, int containers) {
  process_table table;
  table.ns_per_tick = ns_per_tick;
  for (int pid = 1; pid <= processes; ++pid) {
    auto info = std::make_shared<process_info>(testing::regular_process("worker", "/usr/bin/worker"));
    if (containers > 0) {
      info->type = process_type::container;
      info->container_id = std::string(56, 'c') + std::to_string(10'000'000 + pid % containers);
      info->runtime = "containerd";
    }
    table.processes.push_back(process_sample{{pid, 1}, 0, info});
  }
  return table;
}

/// Median microseconds of attribution::update over `intervals` intervals in which every
/// process ran (the worst case for the share loop).
double median_interval_us(int processes, int containers, int intervals = 200) {
  attribution math({{"package", 0, "/p", 0}, {"core", 0, "/c", 0}, {"dram", 0, "/d", 0}},
                   terminated_policy{500, 10'000'000, 60'000'000'000});
  auto table = make_table(processes, containers);
  std::vector<double> micros;
  uint64_t energy = 0;
  for (int i = 0; i < intervals; ++i) {
    table.node.user += 400;
    table.node.idle += 400;
    table.uptime_ns += 800 * ns_per_tick;
    for (auto& p : table.processes) p.cpu_ns += 1'000'000 + (p.key.pid % 7) * 1000;
    energy += 50'000'000;
    auto cpu = std::make_shared<const process_table>(table);
    int64_t now = int64_t(i) * 5'000'000'000;
    round_input input{{energy_reading{"/p", energy, energy, 0, 1, now, 0},
                       energy_reading{"/c", energy / 2, energy / 2, 0, 1, now, 0},
                       energy_reading{"/d", energy / 8, energy / 8, 0, 1, now, 0}},
                      cpu,
                      0,
                      now};
    auto start = std::chrono::steady_clock::now();
    auto snap = math.update(input);
    auto end = std::chrono::steady_clock::now();
    if (snap->zones[0].conservation_error_uj != 0) std::abort();
    micros.push_back(std::chrono::duration<double, std::micro>(end - start).count());
  }
  std::sort(micros.begin(), micros.end());
  return micros[micros.size() / 2];
}

}  // namespace

int main() {
  std::printf("attribution, 10000 processes x 3 zones: median %.0f us per interval (budget 1000 us)\n",
              median_interval_us(10'000, 0));
  // Alternate the two set-ups so that load from elsewhere on the machine hits both alike.
  double plain = 0, grouped = 0;
  for (int round = 0; round < 3; ++round) {
    plain += median_interval_us(5'000, 0) / 3;
    grouped += median_interval_us(5'000, 200) / 3;
  }
  std::printf("attribution, 5000 processes: %.0f us; in 200 containers: %.0f us (+%.1f %%, budget +10 %%)\n", plain,
              grouped, (grouped / plain - 1) * 100);
  return 0;
}
