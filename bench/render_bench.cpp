// Rendering /metrics for 10,000 processes × 3 zones (~70,000 series) from a snapshot, as the
// HTTP server actor does once per snapshot. Budget (issue #2): ≤ 30 ms per render.
// Scrapes never render: they copy a pointer to this document, so N scrapes cost one render.
// Also 5,000 and 20,000 processes, to show that the time per series does not grow with the
// size (issue 16: 20,000 processes, budget 150 ms).

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "bench/busy_node_snapshot.hpp"
#include "metrics/renderer.hpp"

using namespace kepler;

namespace {

void measure(int processes) {
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
  double median = millis[millis.size() / 2];
  std::printf(
      "render, %d processes x 3 zones (%d series, %zu bytes): median %.1f ms, min %.1f ms, %.0f ns per series "
      "(budget 30 ms at 10,000)\n",
      processes, processes * 7, size, median, millis.front(), median * 1e6 / (processes * 7));
}

}  // namespace

int main() {
  for (int processes : {5'000, 10'000, 20'000}) measure(processes);
  return 0;
}
