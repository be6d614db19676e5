// Rendering /metrics for 10,000 processes × 3 zones (~70,000 series) from a snapshot, as the
// HTTP server actor does once per snapshot. Budget (issue #2): ≤ 30 ms per render.
// Scrapes never render: they copy a pointer to this document, so N scrapes cost one render.

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "bench/busy_node_snapshot.hpp"
#include "metrics/renderer.hpp"

using namespace kepler;

int main() {
  constexpr int processes = 10'000;
  auto snap = bench::busy_node_snapshot(processes);
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
