// Cost of the estimate meter per interval: what its sampler does each time the engine asks for
// a reading. Budget: ≤ 5 µs per interval for the estimate itself (the model at the window's
// usage and the energy integration; estimate_zone::add_sample), which is all the meter adds to
// the /proc/stat read that the fake meter does too.
//
// Reported: (1) the model and integration alone, on prepared samples; (2) one whole reading on
// this machine (open, read the first 1 KiB of /proc/stat, parse the cpu line, the model),
// whose cost is mostly the kernel generating /proc/stat and grows with the node's CPUs and
// interrupts; (3) for comparison the fake meter's read of the whole /proc/stat; (4) choosing
// the model at start (tables parsed once, cpuinfo, DMI), which happens once per process.
// CPU time of the calling thread, median of repeated runs.
//
// Usage: estimate_bench [iterations=20000]

#include <time.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "sensors/power/estimate_meter.hpp"
#include "sensors/power/fake_meter.hpp"

namespace {

double cpu_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) * 1e9 + static_cast<double>(ts.tv_nsec);
}

/// Median and best nanoseconds per call of `fn`, over `rounds` rounds of `per_round` calls.
template <class Fn>
std::pair<double, double> time_calls(int rounds, int per_round, Fn&& fn) {
  std::vector<double> per_call;
  for (int r = 0; r < rounds; ++r) {
    const double start = cpu_ns();
    for (int i = 0; i < per_round; ++i) fn(i);
    per_call.push_back((cpu_ns() - start) / per_round);
  }
  std::sort(per_call.begin(), per_call.end());
  return {per_call[per_call.size() / 2], per_call.front()};
}

void report(const char* label, std::pair<double, double> ns) {
  std::printf("%-48s median %8.3f us (best %.3f)\n", label, ns.first / 1000, ns.second / 1000);
}

}  // namespace

int main(int argc, char** argv) {
  const int iterations = argc > 1 ? std::max(100, std::atoi(argv[1])) : 20000;
  kepler::kepler_config config;  // this machine's /proc and /sys
  const double parse_start = cpu_ns();
  const auto servers = kepler::builtin_estimate_tables().servers.size();
  std::printf("parsing the built-in tables (first use, once): %.0f us, %zu servers\n", (cpu_ns() - parse_start) / 1000,
              servers);

  // Prepared samples: usage moving across the whole curve, one second apart.
  std::vector<kepler::cpu_times> samples(1024);
  for (std::size_t i = 0; i < samples.size(); ++i) {
    samples[i].user = i * 37 % 101 + i * 100;
    samples[i].idle = i * 100 - i * 37 % 101 + 1000;
  }
  auto model = kepler::choose_estimate_model(config, kepler::read_node_facts("/sys", "/proc"),
                                             kepler::builtin_estimate_tables());
  std::printf("model on this machine: %s (%s)\n", model.name.c_str(), model.parameters.c_str());

  // An 11-point SPECpower-shaped curve: the longest the tables make.
  auto curve = kepler::power_curve::make({{0, 49.4},
                                          {10, 113},
                                          {20, 133},
                                          {30, 160},
                                          {40, 176},
                                          {50, 198},
                                          {60, 228},
                                          {70, 265},
                                          {80, 305},
                                          {90, 374},
                                          {100, 454}})
                   .value();
  kepler::estimate_zone zone(curve, "/proc", nullptr);
  uint64_t sink = 0;
  const auto model_cost = time_calls(21, iterations, [&](int i) {
    sink += zone.add_sample(samples[static_cast<std::size_t>(i) % samples.size()], std::chrono::seconds(i));
  });
  report("model + integration (add_sample):", model_cost);

  kepler::estimate_zone reading(model.curve, "/proc", nullptr);
  const int reads = std::max(100, iterations / 10);
  report("whole reading (read_energy_uj, /proc/stat):",
         time_calls(11, reads, [&](int) { sink += reading.read_energy_uj().value(); }));
  kepler::fake_zone fake("package", {}, "/proc", nullptr);
  report("fake meter reading, for comparison:",
         time_calls(11, reads, [&](int) { sink += fake.read_energy_uj().value(); }));
  report("choosing the model at start (once):",
         time_calls(5, 1, [&](int) { sink += kepler::discover_estimate_meter(config).zones.size(); }));

  const double budget_ns = 5000;
  std::printf("budget: model + integration <= %.0f us per interval: %s (sink %llu)\n", budget_ns / 1000,
              model_cost.first <= budget_ns ? "met" : "MISSED", static_cast<unsigned long long>(sink % 10));
  return model_cost.first <= budget_ns ? 0 : 1;
}
