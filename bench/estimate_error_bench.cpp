// The estimate's own error (docs/estimate.md, "How wrong is it"): the bare-metal model as the
// daemon chooses it, run against every SPECpower result of the shipped table, leave-one-out.
//
// For each of the table's servers, the model is chosen by choose_estimate_model — exactly as on
// a bare-metal node whose /proc/cpuinfo names the server's CPU and lists its threads and
// packages, no DMI, no overrides — from the table with that server removed, so no server is
// ever estimated from its own measurement. The estimate at each load step (active idle, 10 %,
// …, 100 %) is compared with the server's measured whole-server wall watts; the table gives the
// median and 90th percentile of the absolute error in percent of the measurement, over all
// servers and per tier of the model (same CPU, same generation, fallback). For comparison it
// also scores two models on every server: the fallback (CCF's average per thread) and the
// Teads curve on the table's TDP (which estimates CPU power only, so it misses the rest of the
// server by design). The fallback is also scored on the servers available from 2017 on, closer
// to the new CPUs it will meet on nodes.
//
// No timing here: it is a figure of accuracy, kept with the benchmarks because it is measured,
// not asserted. Usage: estimate_error_bench (prints Markdown tables).

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "sensors/power/estimate_model.hpp"

namespace {

using kepler::specpower_loads;

/// Absolute errors in percent, one list per load step.
struct error_table {
  std::array<std::vector<double>, 11> by_step;
  std::size_t servers = 0;

  void add(const kepler::power_curve& estimate, const kepler::specpower_server& server) {
    for (std::size_t step = 0; step < specpower_loads.size(); ++step) {
      const double measured = server.watts[step];
      const double estimated = estimate.watts_at(specpower_loads[step] / 100.0);
      by_step[step].push_back(std::abs(estimated - measured) / measured * 100.0);
    }
    ++servers;
  }
};

/// The value at rank ⌈q·n⌉ of the sorted values (nearest rank), q in (0, 1].
double percentile(std::vector<double> values, double q) {
  if (values.empty()) return std::nan("");
  std::sort(values.begin(), values.end());
  const auto rank = static_cast<std::size_t>(std::ceil(q * static_cast<double>(values.size())));
  return values[std::clamp<std::size_t>(rank, 1, values.size()) - 1];
}

double median(std::vector<double> values) {
  if (values.empty()) return std::nan("");
  std::sort(values.begin(), values.end());
  const auto n = values.size();
  return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

void print_header() {
  std::printf("| model | servers |");
  for (double load : specpower_loads) std::printf(load == 0 ? " idle |" : " %.0f %% |", load);
  std::printf("\n|---|---:|");
  for (std::size_t i = 0; i < specpower_loads.size(); ++i) std::printf("---:|");
  std::printf("\n");
}

void print_row(const std::string& name, const error_table& table) {
  std::printf("| %s | %zu |", name.c_str(), table.servers);
  for (const auto& errors : table.by_step) std::printf(" %.0f / %.0f |", median(errors), percentile(errors, 0.9));
  std::printf("\n");
}

/// What a bare-metal node built like `server` tells the estimate meter.
kepler::node_facts facts_of(const kepler::specpower_server& server) {
  kepler::node_facts facts;
  facts.cpu_model = server.cpu_name;
  facts.logical_cpus = server.threads;
  facts.packages = server.chips;
  return facts;
}

/// "same CPU", "same generation" or "fallback", from the chosen model's name.
std::string tier_of(const std::string& model) {
  if (model.starts_with("specpower-arch-")) return "same generation (specpower-arch-*)";
  if (model.starts_with("specpower-")) return "same CPU (specpower-*)";
  return "fallback (" + model + ")";
}

}  // namespace

int main() {
  if (!kepler::builtin_estimate_tables_error().empty()) {
    std::fprintf(stderr, "tables: %s\n", kepler::builtin_estimate_tables_error().c_str());
    return 1;
  }
  const auto& tables = kepler::builtin_estimate_tables();
  const kepler::kepler_config defaults;

  error_table all, ccf_average, ccf_average_recent, teads;
  std::map<std::string, error_table> tiers;
  for (std::size_t i = 0; i < tables.servers.size(); ++i) {
    const auto& server = tables.servers[i];
    kepler::estimate_tables others = tables;  // leave this server out
    others.servers.erase(others.servers.begin() + static_cast<std::ptrdiff_t>(i));
    const auto model = kepler::choose_estimate_model(defaults, facts_of(server), others);
    all.add(model.curve, server);
    tiers[tier_of(model.name)].add(model.curve, server);

    // For comparison, on every server: the fallback, and the Teads curve on the table's TDP.
    const auto fallback = kepler::power_curve::linear(0.74 * server.threads, 3.5 * server.threads);
    ccf_average.add(fallback, server);
    // The fallback meets CPUs newer than the table: how it does on the recent part of it.
    if (server.year >= 2017) ccf_average_recent.add(fallback, server);
    if (server.tdp_watts > 0) teads.add(kepler::teads_curve(server.tdp_watts, server.chips), server);
  }

  std::printf("Absolute error of the estimate against measured whole-server watts, in %% of the measurement:\n");
  std::printf("median / p90 per load step; leave-one-out over %zu SPECpower results.\n\n", tables.servers.size());
  print_header();
  print_row("**as chosen (bare metal)**", all);
  for (const auto& [tier, table] : tiers) print_row(tier, table);
  std::printf("\nFor comparison, on every server:\n\n");
  print_header();
  print_row("fallback-ccf-average, every server", ccf_average);
  print_row("fallback-ccf-average, servers available from 2017", ccf_average_recent);
  print_row("teads-tdp on the table's TDP (CPU only)", teads);
  return 0;
}
