// Attribution of one interval: 10,000 processes × 3 zones.
// Budget (issue #2): ≤ 1 ms per interval. Not a test: prints the figure.

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <vector>

#include "actors/attribution.hpp"

using namespace kepler;

int main() {
  constexpr int processes = 10'000;
  constexpr int intervals = 200;
  constexpr uint64_t ns_per_tick = 10'000'000;
  attribution math({{"package", 0, "/p", 0}, {"core", 0, "/c", 0}, {"dram", 0, "/d", 0}},
                   terminated_policy{500, 10'000'000, 60'000'000'000});
  process_table table;
  table.ns_per_tick = ns_per_tick;
  for (int pid = 1; pid <= processes; ++pid) {
    auto info = std::make_shared<process_info>(process_info{"worker", "/usr/bin/worker"});
    table.processes.push_back(process_sample{{pid, 1}, 0, info});
  }
  std::vector<double> micros;
  uint64_t energy = 0;
  for (int i = 0; i < intervals; ++i) {
    // Every process ran in every interval: the worst case for the share loop.
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
                      cpu, 0, now};
    auto start = std::chrono::steady_clock::now();
    auto snap = math.update(input);
    auto end = std::chrono::steady_clock::now();
    if (snap->zones[0].conservation_error_uj != 0) return 1;
    micros.push_back(std::chrono::duration<double, std::micro>(end - start).count());
  }
  std::sort(micros.begin(), micros.end());
  std::printf("attribution, %d processes x 3 zones: median %.0f us, p90 %.0f us per interval (budget 1000 us)\n",
              processes, micros[micros.size() / 2], micros[micros.size() * 9 / 10]);
  return 0;
}
