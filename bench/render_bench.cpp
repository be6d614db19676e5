// Rendering /metrics for 10,000 processes × 3 zones (~70,000 series) from a snapshot, as the
// HTTP server actor does once per snapshot. Budget (issue #2): ≤ 30 ms per render.
// Scrapes never render: they copy a pointer to this document, so N scrapes cost one render.

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "actors/metrics_renderer.hpp"
#include "test/support/process_info.hpp"

using namespace kepler;


namespace {

snapshot make_snapshot(int processes) {
  snapshot snap;
  for (const char* zone : {"package", "core", "dram"})
    snap.zones.push_back(node_zone_stats{zone, std::string("/sys/class/powercap/intel-rapl:0:") + zone});
  for (int i = 0; i < processes; ++i) {
    auto info = std::make_shared<process_info>(
        testing::regular_process("worker-" + std::to_string(i % 97), "/usr/local/bin/service-binary-" + std::to_string(i % 13)));
    snap.running.push_back(process_row{{100000 + i, 1}, info, uint64_t(i) * 123'456'789, 0, 0});
    for (int z = 0; z < 3; ++z) {
      snap.running_energy_uj.push_back(uint64_t(i) * 7'654'321 + z);
      snap.running_watts.push_back(0.001 * i + z * 0.37);
    }
  }
  return snap;
}

}  // namespace

int main() {
  constexpr int processes = 10'000;
  auto snap = make_snapshot(processes);
  render_context ctx;
  ctx.node_name = "worker-node-0001.example.internal";
  std::vector<double> millis;
  std::size_t size = 0;
  for (int i = 0; i < 21; ++i) {
    auto start = std::chrono::steady_clock::now();
    auto text = render_metrics(snap, ctx, size);
    auto end = std::chrono::steady_clock::now();
    size = text.size();
    if (i > 0) millis.push_back(std::chrono::duration<double, std::milli>(end - start).count());
  }
  std::sort(millis.begin(), millis.end());
  std::printf("render, %d processes x 3 zones (%d series, %zu bytes): median %.1f ms, min %.1f ms (budget 30 ms)\n",
              processes, processes * 7, size, millis[millis.size() / 2], millis.front());
  return 0;
}
