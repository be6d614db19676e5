// The summary behind the page and /api/v1/summary for 10,000 processes × 3 zones, with a full
// 15-minute history (180 points at 5 s), as the first request for a snapshot builds it.
// Budgets (issue #18): the summary JSON ≤ 1 ms to build; the page ≤ 100 KB. Made at most once per
// snapshot and only when someone asks; recording the history point costs O(zones) per snapshot.

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include "bench/busy_node_snapshot.hpp"
#include "metrics/summary.hpp"
#include "metrics/ui_page.hpp"

using namespace kepler;

namespace {

using clock_type = std::chrono::steady_clock;

template <class F>
double median_ms(F&& run) {
  std::vector<double> millis;
  for (int i = 0; i < 101; ++i) {
    auto start = clock_type::now();
    run();
    auto end = clock_type::now();
    if (i > 0) millis.push_back(std::chrono::duration<double, std::milli>(end - start).count());
  }
  std::sort(millis.begin(), millis.end());
  return millis[millis.size() / 2];
}

/// Builds the summary JSON and the page with a full history at `interval`; prints the figures.
void measure(snapshot snap, std::chrono::seconds interval) {
  summary_context context{"worker-node-0001.example.internal", "0.1.0", static_cast<double>(interval.count()), {}};
  power_history history(power_history::capacity_for(interval));
  uint64_t mark = 0;
  for (std::size_t i = 0; i < history.capacity(); ++i) {
    snap.wall_ns = 1'700'000'000'123'456'789 + static_cast<int64_t>(i) * 5'000'000'000;
    snap.mono_ns = static_cast<int64_t>(i) * 5'000'000'000;
    for (auto& zone : snap.zones) zone.watts = 40.0 + static_cast<double>(i % 17) / 3.0;
    mark = history.record(snap);
  }
  std::size_t json_size = 0, page_size = 0;
  const double build = median_ms([&] { json_size = summary_json(make_summary(snap, context, &history, mark)).size(); });
  const auto made = make_summary(snap, context, &history, mark);
  const double page = median_ms([&] { page_size = ui_page(&made, {}).size(); });
  const double record = median_ms([&] { history.record(snap); }) * 1000;
  std::printf(
      "interval %llds, %zu processes x 3 zones, %zu history points: summary JSON median %.3f ms to build "
      "(budget 1 ms), %zu bytes; page %.3f ms, %zu bytes (budget 100 KB); a history point %.2f us; "
      "the ring holds %zu bytes\n",
      static_cast<long long>(interval.count()), snap.running.size(), history.capacity(), build, json_size, page,
      page_size, record, history.bytes());
}

}  // namespace

int main() {
  auto snap = bench::busy_node_snapshot(10'000);
  for (auto& zone : snap.zones) {
    zone.watts = 40;
    zone.active_watts = 30;
    zone.total_uj = 1'000'000'000;
  }
  measure(snap, std::chrono::seconds(5));  // the default interval: 180 points
  measure(snap, std::chrono::seconds(1));  // the most points the ring holds: 900
  return 0;
}
