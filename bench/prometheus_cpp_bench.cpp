// prometheus-cpp 1.0 (Debian's prometheus-cpp-dev) against our exposition writer, on the same
// busy-node snapshot (10,000 processes × 3 zones, ~70,000 series). The question it answers:
// would keeping the series in a prometheus::Registry and serialising it with TextSerializer
// cost less or more per interval than writing the document straight from the snapshot
// (metrics/exposition.*, metrics/renderer.cpp)?
//
// Timed per document, over N rounds after one warm-up (median and min):
//   ours       render_metrics(snapshot, context): the whole document;
//   refresh    every series' value pushed into its metric, as an interval would: Gauge::Set,
//              and Counter::Increment by the difference, since the snapshot holds totals. Through
//              handles kept from the build, so a lower bound: no look-up, no process churn;
//   collect    Registry::Collect(), then serialise: TextSerializer::Serialize — per scrape;
//   rebuild    a new registry with every family and series, label maps made from the series'
//              strings, and the old registry's destruction: the cost of an interval when
//              processes come and go and the registry is built again from the snapshot.
// Also the registry's heap and resident growth, what Collect() allocates on top, and a check
// that both documents hold the same series (names, label sets, values).
//
// The registry is filled from our own document, parsed once outside the timings, so both
// sides export exactly the same families, label sets and values.
//
// Usage: prometheus_cpp_bench [processes (10000)] [rounds (11)]

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "bench/busy_node_snapshot.hpp"
#include "metrics/renderer.hpp"
#include "test/support/heap_usage.hpp"

using namespace kepler;

namespace {

struct parsed_series {
  std::vector<std::pair<std::string, std::string>> labels;  // in document order
  double value;
};

struct parsed_family {
  std::string name, help, type;
  std::vector<parsed_series> series;
};

struct parsed_document {
  std::vector<parsed_family> families;
  std::size_t samples = 0;
};

/// Undoes the exposition escapes (\\, \n and, in label values, \").
std::string unescape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\' && i + 1 < text.size()) {
      ++i;
      out += text[i] == 'n' ? '\n' : text[i];
    } else {
      out += text[i];
    }
  }
  return out;
}

[[noreturn]] void fail(const char* what, std::string_view line) {
  std::fprintf(stderr, "cannot parse (%s): %.*s\n", what, int(std::min<std::size_t>(line.size(), 200)), line.data());
  std::exit(1);
}

/// Families with their samples, from a text exposition document of counters and gauges
/// (both writers put a family's samples right after its # TYPE line).
parsed_document parse(std::string_view text) {
  parsed_document doc;
  std::unordered_map<std::string, std::size_t> index;
  auto family_of = [&](std::string_view name) -> parsed_family& {
    auto [it, added] = index.try_emplace(std::string(name), doc.families.size());
    if (added) doc.families.push_back(parsed_family{std::string(name), {}, {}, {}});
    return doc.families[it->second];
  };
  while (!text.empty()) {
    const std::size_t end = text.find('\n');
    std::string_view line = text.substr(0, end);
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
    if (line.empty()) continue;
    if (line.starts_with("# HELP ") || line.starts_with("# TYPE ")) {
      const bool help = line[2] == 'H';
      line.remove_prefix(7);
      const std::size_t space = line.find(' ');
      if (space == std::string_view::npos) fail("comment", line);
      auto& family = family_of(line.substr(0, space));
      if (help) family.help = unescape(line.substr(space + 1));
      else family.type = std::string(line.substr(space + 1));
      continue;
    }
    if (line[0] == '#') continue;
    const std::size_t name_end = line.find_first_of("{ ");
    if (name_end == std::string_view::npos) fail("sample", line);
    parsed_series series;
    std::size_t pos = name_end;
    if (line[pos] == '{') {
      ++pos;
      while (pos < line.size() && line[pos] != '}') {
        const std::size_t eq = line.find("=\"", pos);
        if (eq == std::string_view::npos) fail("label", line);
        std::size_t close = eq + 2;
        while (close < line.size() && line[close] != '"') close += line[close] == '\\' ? 2 : 1;
        if (close >= line.size()) fail("label value", line);
        series.labels.emplace_back(std::string(line.substr(pos, eq - pos)),
                                   unescape(line.substr(eq + 2, close - eq - 2)));
        pos = close + 1;
        if (line[pos] == ',') ++pos;
      }
      ++pos;
    }
    if (pos >= line.size() || line[pos] != ' ') fail("value", line);
    // strtod reads NaN, Nan, +Inf and -Inf too; anything after the value (a timestamp) is ignored.
    const std::string value(line.substr(pos + 1, line.find(' ', pos + 1) - pos - 1));
    char* value_end = nullptr;
    series.value = std::strtod(value.c_str(), &value_end);
    if (value.empty() || *value_end != '\0') fail("value", line);
    family_of(line.substr(0, name_end)).series.push_back(std::move(series));
    ++doc.samples;
  }
  return doc;
}

/// Each series of a document keyed by name and label set (labels sorted: prometheus-cpp keeps
/// them in a std::map, we write them in Kepler's order), with its value.
std::unordered_map<std::string, double> series_values(const parsed_document& doc) {
  std::unordered_map<std::string, double> values;
  for (const auto& family : doc.families)
    for (const auto& series : family.series) {
      auto labels = series.labels;
      std::sort(labels.begin(), labels.end());
      std::string key = family.name + '{';
      for (const auto& [name, value] : labels) key += name + "=\"" + value + "\",";
      values.emplace(std::move(key), series.value);
    }
  return values;
}

/// One-line verdict: do both documents hold the same families, series and values?
void compare(const parsed_document& ours, const parsed_document& theirs) {
  const auto a = series_values(ours), b = series_values(theirs);
  std::size_t missing = 0, differ = 0;
  double worst = 0;
  std::string example;
  for (const auto& [key, value] : a) {
    const auto it = b.find(key);
    if (it == b.end()) {
      ++missing;
      if (example.empty()) example = "missing from prometheus-cpp: " + key;
      continue;
    }
    if (std::isnan(value) && std::isnan(it->second)) continue;
    const double scale = std::max(std::fabs(value), std::fabs(it->second));
    const double relative = scale == 0 ? 0 : std::fabs(value - it->second) / scale;
    worst = std::max(worst, relative);
    // prometheus-cpp may print fewer digits than a round trip needs; 1e-12 is still "the same".
    if (!(relative <= 1e-12)) {
      ++differ;
      if (example.empty()) example = "value differs: " + key;
    }
  }
  const std::size_t extra = b.size() - (a.size() - missing);
  std::size_t type_differ = 0;
  std::unordered_map<std::string, std::string> types;
  for (const auto& family : theirs.families) types[family.name] = family.type;
  for (const auto& family : ours.families)
    if (!family.series.empty() && types[family.name] != family.type) ++type_differ;
  if (missing + extra + differ + type_differ == 0 && ours.samples == a.size() && theirs.samples == b.size())
    std::printf(
        "same series: yes, %zu series in both, same names, label sets, types and values "
        "(largest relative difference %.1g)\n",
        a.size(), worst);
  else
    std::printf(
        "same series: NO (ours %zu, prometheus-cpp %zu; %zu missing, %zu extra, %zu values and %zu types differ; %s)\n",
        a.size(), b.size(), missing, extra, differ, type_differ, example.c_str());
}

/// Pointers to every metric with the value the snapshot gives it: what a refresh walks.
struct handles {
  std::vector<std::pair<prometheus::Counter*, double>> counters;
  std::vector<std::pair<prometheus::Gauge*, double>> gauges;
};

/// A registry holding every family and series of `doc`; records the metrics in `out` if given.
std::unique_ptr<prometheus::Registry> build_registry(const parsed_document& doc, handles* out) {
  auto registry = std::make_unique<prometheus::Registry>();
  for (const auto& family : doc.families) {
    if (family.type == "counter") {
      auto& metrics = prometheus::BuildCounter().Name(family.name).Help(family.help).Register(*registry);
      for (const auto& series : family.series) {
        auto& counter = metrics.Add(prometheus::Labels(series.labels.begin(), series.labels.end()));
        counter.Increment(series.value);  // counters start at 0 and have no Set
        if (out) out->counters.emplace_back(&counter, series.value);
      }
    } else if (family.type == "gauge") {
      auto& metrics = prometheus::BuildGauge().Name(family.name).Help(family.help).Register(*registry);
      for (const auto& series : family.series) {
        auto& gauge = metrics.Add(prometheus::Labels(series.labels.begin(), series.labels.end()));
        gauge.Set(series.value);
        if (out) out->gauges.emplace_back(&gauge, series.value);
      }
    } else {
      std::fprintf(stderr, "family %s has type '%s', not counter or gauge\n", family.name.c_str(), family.type.c_str());
      std::exit(1);
    }
  }
  return registry;
}

/// The interval's update: gauges take the new value, counters go up by what they lack.
void refresh(const handles& metrics) {
  for (const auto& [counter, total] : metrics.counters) counter->Increment(total - counter->Value());
  for (const auto& [gauge, value] : metrics.gauges) gauge->Set(value);
}

std::size_t resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  std::size_t pages = 0, resident = 0;
  statm >> pages >> resident;
  return resident * static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
}

double millis_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
}

struct timing {
  std::vector<double> ms;
  double median() const {
    auto sorted = ms;
    std::sort(sorted.begin(), sorted.end());
    return sorted[sorted.size() / 2];
  }
  double min() const { return *std::min_element(ms.begin(), ms.end()); }
};

/// Per-round sum of several timings (they were taken in the same rounds).
timing sum(std::initializer_list<const timing*> parts) {
  timing total;
  total.ms.assign(parts.begin()[0]->ms.size(), 0.0);
  for (const timing* part : parts)
    for (std::size_t i = 0; i < total.ms.size(); ++i) total.ms[i] += part->ms[i];
  return total;
}

void row(const char* what, const timing& t, std::size_t bytes, const timing& ours) {
  char size[32] = "";
  if (bytes) std::snprintf(size, sizeof size, "%zu", bytes);
  std::printf("  %-46s %9.1f %9.1f %11s %8.1fx\n", what, t.median(), t.min(), size, t.median() / ours.median());
}

}  // namespace

int main(int argc, char** argv) {
  const int processes = argc > 1 ? std::atoi(argv[1]) : 10'000;
  const int rounds = argc > 2 ? std::atoi(argv[2]) : 11;
  if (processes <= 0 || rounds <= 0) {
    std::fprintf(stderr, "usage: %s [processes] [rounds]\n", argv[0]);
    return 2;
  }
  const auto snap = bench::busy_node_snapshot(processes);
  render_context ctx;
  ctx.node_name = "worker-node-0001.example.internal";

  // Our document, and the same series parsed back for the registry (outside the timings).
  std::string document = render_metrics(snap, ctx);
  const parsed_document ours = parse(document);

  // Memory: the registry's own growth, measured on the first build, before anything else
  // allocated and freed big blocks the heap could hand back.
  handles metrics;
  metrics.counters.reserve(ours.samples);
  metrics.gauges.reserve(ours.samples);
  std::unique_ptr<prometheus::Registry> registry;
  const std::size_t resident_before = resident_bytes();
  const std::size_t registry_heap = testing::heap_growth([&] { registry = build_registry(ours, &metrics); });
  const std::size_t registry_resident = resident_bytes() - resident_before;
  std::vector<prometheus::MetricFamily> collected;
  const std::size_t collect_heap = testing::heap_growth([&] { collected = registry->Collect(); });
  collected = {};

  timing render, update, collect, serialise, build, destroy;
  std::size_t our_bytes = document.size(), their_bytes = 0;
  std::string theirs;
  for (int round = 0; round <= rounds; ++round) {  // round 0 warms up and is not counted
    auto start = std::chrono::steady_clock::now();
    document = render_metrics(snap, ctx, our_bytes);
    const double render_ms = millis_since(start);
    our_bytes = document.size();

    start = std::chrono::steady_clock::now();
    refresh(metrics);
    const double update_ms = millis_since(start);

    theirs = {};  // the previous scrape's document is gone by the next one
    start = std::chrono::steady_clock::now();
    auto families = registry->Collect();
    const double collect_ms = millis_since(start);
    start = std::chrono::steady_clock::now();
    theirs = prometheus::TextSerializer().Serialize(families);
    const double serialise_ms = millis_since(start);
    families = {};
    their_bytes = theirs.size();

    start = std::chrono::steady_clock::now();
    auto rebuilt = build_registry(ours, nullptr);
    const double build_ms = millis_since(start);
    start = std::chrono::steady_clock::now();
    rebuilt.reset();
    const double destroy_ms = millis_since(start);

    if (round == 0) continue;
    render.ms.push_back(render_ms);
    update.ms.push_back(update_ms);
    collect.ms.push_back(collect_ms);
    serialise.ms.push_back(serialise_ms);
    build.ms.push_back(build_ms);
    destroy.ms.push_back(destroy_ms);
  }

  std::printf("%d processes x %zu zones: %zu series in %zu families; %d rounds\n", processes, snap.zones.size(),
              ours.samples, ours.families.size(), rounds);
  compare(ours, parse(theirs));
  std::printf("  %-46s %9s %9s %11s %9s\n", "per document", "median ms", "min ms", "bytes", "vs ours");
  row("ours: render_metrics", render, our_bytes, render);
  row("prometheus-cpp: (i) refresh every value", update, 0, render);
  row("prometheus-cpp: (ii) Collect()", collect, 0, render);
  row("prometheus-cpp: (ii) TextSerializer::Serialize", serialise, their_bytes, render);
  row("prometheus-cpp: (ii) Collect + Serialize", sum({&collect, &serialise}), their_bytes, render);
  row("prometheus-cpp: (i)+(ii) interval, no churn", sum({&update, &collect, &serialise}), their_bytes, render);
  row("prometheus-cpp: (iii) build registry", build, 0, render);
  row("prometheus-cpp: (iii) destroy old registry", destroy, 0, render);
  row("prometheus-cpp: (iii)+(ii) interval, rebuilt", sum({&build, &destroy, &collect, &serialise}), their_bytes,
      render);
  if (testing::heap_usage_measurable)
    std::printf(
        "registry memory: heap +%.1f MiB, resident +%.1f MiB (%.0f bytes per series); "
        "Collect() allocates +%.1f MiB more per scrape\n",
        registry_heap / 1048576.0, registry_resident / 1048576.0, double(registry_heap) / ours.samples,
        collect_heap / 1048576.0);
  else
    std::printf("registry memory: resident +%.1f MiB (heap figures unavailable under a sanitizer)\n",
                registry_resident / 1048576.0);
  return 0;
}
