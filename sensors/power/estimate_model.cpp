#include "sensors/power/estimate_model.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <optional>

#include <fmt/format.h>

#include "sensors/power/cpu_names.hpp"

namespace kepler {
namespace {

/// Watts and similar figures in texts: 4 significant digits ("0.645", "4.26", "146.5").
std::string num(double value) { return fmt::format("{:.4g}", value); }

/// `Cascade Lake` → `cascade-lake`; `xeon platinum 8176` → `xeon-platinum-8176`.
std::string slug(std::string_view text) {
  std::string out;
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || c == '.' || c == '+') out += static_cast<char>(std::tolower(u));
    else if (!out.empty() && out.back() != '-') out += '-';
  }
  while (!out.empty() && out.back() == '-') out.pop_back();
  return out;
}

std::string joined(const std::vector<std::string>& items, std::string_view separator) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : std::string(separator)) + item;
  return out;
}

double median(std::vector<double> values) {
  if (values.empty()) return 0;
  const auto middle = values.size() / 2;
  std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(middle), values.end());
  const double upper = values[middle];
  if (values.size() % 2 == 1) return upper;
  const double lower = *std::max_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(middle));
  return (lower + upper) / 2;  // as ramda's median, which CCF uses: the mean of the two middle values
}

/// `49.4 W idle, 198 W at 50 %, 454 W at 100 %`: a curve in three figures.
std::string curve_summary(const power_curve& curve) {
  return fmt::format("{} W idle, {} W at 50 %, {} W at 100 %", num(curve.watts_at(0)), num(curve.watts_at(0.5)),
                     num(curve.watts_at(1)));
}

/// `source rows 3, 38, 40`: which servers a curve came from, so a user can look them up.
std::string rows_of(const std::vector<const specpower_server*>& servers) {
  std::vector<std::string> rows;
  for (const auto* server : servers) {
    if (rows.size() == 8) {
      rows.emplace_back("…");
      break;
    }
    rows.push_back(std::to_string(server->source_row));
  }
  return (servers.size() == 1 ? "source row " : "source rows ") + joined(rows, ", ");
}

/// A curve over the SPECpower load steps, each step's value from `per_server`.
template <class F>
power_curve specpower_curve(const std::vector<const specpower_server*>& servers, double scale, F per_server) {
  std::vector<load_watts> points;
  for (std::size_t step = 0; step < specpower_loads.size(); ++step) {
    std::vector<double> values;
    for (const auto* server : servers) values.push_back(per_server(*server, step));
    points.push_back({specpower_loads[step], median(std::move(values)) * scale});
  }
  return power_curve::make(std::move(points)).value();
}

const ccf_coefficient* find_coefficient(const estimate_tables& tables, std::string_view provider,
                                        std::string_view architecture, bool fallback) {
  for (const auto& c : tables.coefficients)
    if (c.provider == provider && c.provider_fallback == fallback && (fallback || c.microarchitecture == architecture))
      return &c;
  return nullptr;
}

// --- the overrides of the configuration --------------------------------------------------

std::optional<estimate_model> user_model(const kepler_config& config, const node_facts& facts) {
  const auto& e = config.estimate;
  if (!e.curve.empty()) {
    auto curve = power_curve::make(e.curve);
    if (!curve) return std::nullopt;  // validate() rejects such a curve before we get here
    std::vector<std::string> points;
    for (const auto& p : e.curve) points.push_back(fmt::format("{} W at {} %", num(p.watts), num(p.load_percent)));
    return estimate_model{"user-curve", joined(points, ", ") + ", interpolated linearly",
                          "estimate.curve in the configuration", std::move(curve).value(), false};
  }
  if (e.max_watts > 0)
    return estimate_model{"user-linear",
                          fmt::format("{} W idle to {} W at 100 %, linear in CPU usage", num(e.idle_watts),
                                      num(e.max_watts)),
                          "estimate.idleWatts and estimate.maxWatts in the configuration",
                          power_curve::linear(e.idle_watts, e.max_watts), false};
  if (e.tdp_watts > 0) {
    const int packages = std::max(1, facts.packages);
    return estimate_model{"teads-tdp",
                          fmt::format("TDP {} W x {} package{}, Teads curve 12/32/75/102 % of TDP at 0/10/50/100 % "
                                      "load: {}",
                                      num(e.tdp_watts), packages, packages == 1 ? "" : "s",
                                      curve_summary(teads_curve(e.tdp_watts, packages))),
                          "estimate.tdpWatts in the configuration", teads_curve(e.tdp_watts, packages), false};
  }
  return std::nullopt;
}

// --- cloud VMs ------------------------------------------------------------------------------

estimate_model cloud_model(const kepler_config& config, const estimate_tables& tables, const cloud_identity& cloud,
                           const node_facts& facts, const std::string& architecture, int vcpus) {
  const bool configured = !config.estimate.instance_type.empty();
  const std::string type = configured ? config.estimate.instance_type : cloud.instance_type;
  std::string missed;
  if (!type.empty()) {
    auto processors = ccf_instance_processors(tables, cloud.provider, type);
    if (!processors.empty()) {
      auto model = ccf_model(tables, cloud.provider, processors, vcpus);
      model.basis = fmt::format("{} VM, instance type {} ({}) runs on {} in CCF's table", cloud.provider, type,
                                configured ? "estimate.instanceType" : "DMI product_name", joined(processors, ", "));
      return model;
    }
    missed = fmt::format("instance type {} is not in CCF's table; ", type);
  }
  const auto ccf_name = ccf_microarchitecture(architecture);
  auto model = ccf_model(tables, cloud.provider,
                         ccf_name.empty() ? std::vector<std::string>{} : std::vector<std::string>{ccf_name}, vcpus);
  model.basis = fmt::format("{} VM, {}CPU \"{}\" is {}", cloud.provider, missed, facts.cpu_model,
                            architecture.empty() ? "of unknown microarchitecture" : architecture);
  return model;
}

// --- bare metal and other machines ----------------------------------------------------------

/// The fallback for a CPU in no table: CCF's average over every CPU microarchitecture, per vCPU.
estimate_model fallback_model(const estimate_tables& tables, const node_facts& facts, const std::string& architecture,
                              int threads) {
  const auto* average = find_coefficient(tables, "aws", "", true);
  const double min = average ? average->min_watts : 0.74, max = average ? average->max_watts : 3.5;
  return estimate_model{
      "fallback-ccf-average",
      fmt::format("{}-{} W per thread x {} threads, linear in CPU usage (CCF's average of every CPU "
                  "microarchitecture)",
                  num(min), num(max), threads),
      fmt::format("CPU \"{}\" is in no table (no SPECpower server with it or its microarchitecture, {})",
                  facts.cpu_model.empty() ? std::string("unknown") : facts.cpu_model,
                  architecture.empty() ? std::string("unknown") : architecture),
      power_curve::linear(min * threads, max * threads), true};
}

estimate_model machine_model(const estimate_tables& tables, const node_facts& facts, const std::string& architecture,
                             int threads) {
  const auto key = cpu_model_key(facts.cpu_model);
  if (auto servers = servers_with_cpu(tables, key); !servers.empty()) {
    auto curve = per_thread_curve(servers, threads);
    return estimate_model{"specpower-" + slug(key),
                          fmt::format("median per thread of {} SPECpower server{} ({}) x {} threads: {}",
                                      servers.size(), servers.size() == 1 ? "" : "s", rows_of(servers), threads,
                                      curve_summary(curve)),
                          fmt::format("CPU \"{}\" matches SPECpower results of servers built on it", facts.cpu_model),
                          curve, false};
  }
  if (auto servers = servers_of_architecture(tables, architecture); !servers.empty()) {
    // A bare-metal node scales the servers' curves by its packages (a different SKU of the same
    // generation draws about what a package of it draws); a VM by its share of threads.
    const bool by_thread = facts.hypervisor || facts.packages == 0;
    const int packages = facts.packages;
    auto curve = by_thread ? per_thread_curve(servers, threads) : per_chip_curve(servers, packages);
    return estimate_model{"specpower-arch-" + slug(architecture),
                          fmt::format("median per {} of {} SPECpower {} servers x {} {}: {}",
                                      by_thread ? "thread" : "package", servers.size(), architecture,
                                      by_thread ? threads : packages, by_thread ? "threads" : "packages",
                                      curve_summary(curve)),
                          fmt::format("CPU \"{}\" is {}, no SPECpower server with this exact CPU", facts.cpu_model,
                                      architecture),
                          curve, false};
  }
  return fallback_model(tables, facts, architecture, threads);
}

}  // namespace

result<power_curve> power_curve::make(std::vector<load_watts> points) {
  if (points.size() < 2) return make_error(errc::config, "a power curve needs at least two points");
  for (std::size_t i = 0; i < points.size(); ++i) {
    const auto& p = points[i];
    if (!std::isfinite(p.watts) || p.watts < 0)
      return make_error(errc::config, fmt::format("point {}: watts must be finite and >= 0", i + 1));
    if (!std::isfinite(p.load_percent) || (i > 0 && !(p.load_percent > points[i - 1].load_percent)))
      return make_error(errc::config, fmt::format("point {}: loads must rise from one point to the next", i + 1));
  }
  if (points.front().load_percent != 0 || points.back().load_percent != 100)
    return make_error(errc::config, "a power curve must start at 0 % load and end at 100 %");
  power_curve curve;
  curve.points_ = std::move(points);
  return curve;
}

power_curve power_curve::linear(double idle, double max) {
  power_curve curve;
  curve.points_ = {{0, idle}, {100, max}};
  return curve;
}

double power_curve::watts_at(double usage) const {
  if (points_.empty()) return 0;
  const double load = std::clamp(std::isfinite(usage) ? usage : 0.0, 0.0, 1.0) * 100;
  // A handful of points: a linear scan beats a binary search here.
  for (std::size_t i = 1; i < points_.size(); ++i) {
    const auto& a = points_[i - 1];
    const auto& b = points_[i];
    if (load <= b.load_percent)
      return a.watts + (b.watts - a.watts) * (load - a.load_percent) / (b.load_percent - a.load_percent);
  }
  return points_.back().watts;
}

power_curve teads_curve(double tdp_watts, int packages) {
  const double scale = std::isfinite(tdp_watts) && tdp_watts > 0 ? tdp_watts * std::max(packages, 0) : 0;
  std::vector<load_watts> points;
  for (const auto& p : teads_points) points.push_back({p.load_percent, p.watts * scale});
  return power_curve::make(std::move(points)).value();  // valid by construction
}

ccf_watts ccf_coefficients(const estimate_tables& tables, std::string_view provider,
                           const std::vector<std::string>& processors) {
  std::vector<double> mins, maxes;
  std::vector<std::string> missing;
  bool sandy_or_ivy = false;
  for (const auto& processor : processors) {
    const auto* c = find_coefficient(tables, provider, processor, false);
    if (!c) {
      missing.push_back(processor);
      continue;
    }
    mins.push_back(c->min_watts);
    maxes.push_back(c->max_watts);
    sandy_or_ivy = sandy_or_ivy || processor == "Sandy Bridge" || processor == "Ivy Bridge";
  }
  // CCF averages over a set with an unknown member to NaN and then takes the provider's row.
  if (processors.empty() || !missing.empty()) {
    const auto* fallback = find_coefficient(tables, provider, "", true);
    return {fallback ? fallback->min_watts : 0, fallback ? fallback->max_watts : 0, "provider fallback",
            missing.empty() ? std::string("unknown") : joined(missing, ", ")};
  }
  if (mins.size() == 1) return {mins[0], maxes[0], "single", ""};
  if (sandy_or_ivy) return {median(mins), median(maxes), "median", ""};
  double min_sum = 0, max_sum = 0;
  for (std::size_t i = 0; i < mins.size(); ++i) {
    min_sum += mins[i];
    max_sum += maxes[i];
  }
  return {min_sum / static_cast<double>(mins.size()), max_sum / static_cast<double>(maxes.size()), "mean", ""};
}

std::vector<std::string> ccf_instance_processors(const estimate_tables& tables, std::string_view provider,
                                                 std::string_view instance_type) {
  auto lookup = [&](std::string_view type) -> const ccf_instance* {
    for (const auto& instance : tables.instances)
      if (instance.provider == provider && instance.instance_type == type) return &instance;
    return nullptr;
  };
  std::vector<std::string> candidates{std::string(instance_type)};
  if (provider == "azure" && instance_type.starts_with("Standard_")) {
    auto size = std::string(instance_type.substr(9));  // Standard_D4s_v5 → D4s v5
    std::replace(size.begin(), size.end(), '_', ' ');
    candidates.push_back(size);
  }
  if (provider == "gcp") candidates.push_back(std::string(instance_type.substr(0, instance_type.find('-'))));
  for (const auto& candidate : candidates)
    if (const auto* instance = lookup(candidate)) return instance->processors;
  return {};
}

estimate_model ccf_model(const estimate_tables& tables, std::string_view provider,
                         const std::vector<std::string>& processors, int vcpus) {
  const auto watts = ccf_coefficients(tables, provider, processors);
  const bool fallback = watts.rule == "provider fallback";
  std::string name = "ccf-" + std::string(provider) + "-";
  if (fallback) name += provider == "gcp" ? "median" : "average";
  else {
    std::vector<std::string> slugs;
    for (const auto& p : processors) slugs.push_back(slug(p));
    name += joined(slugs, "+");
  }
  std::string how = watts.rule == "single" ? std::string()
                    : fallback ? fmt::format("CCF's {} fallback (no coefficient for {}): ", provider, watts.missing)
                               : fmt::format("{} of {}: ", watts.rule, joined(processors, ", "));
  auto parameters = fmt::format("{}{}-{} W per vCPU x {} vCPUs, linear in CPU usage", how, num(watts.min_watts),
                                num(watts.max_watts), vcpus);
  return estimate_model{std::move(name), std::move(parameters), "",
                        power_curve::linear(watts.min_watts * vcpus, watts.max_watts * vcpus), fallback};
}

std::vector<const specpower_server*> servers_with_cpu(const estimate_tables& tables, std::string_view key) {
  std::vector<const specpower_server*> servers;
  // A key without a model number (`xeon`, as GCE names its CPUs) names no processor.
  if (std::none_of(key.begin(), key.end(), [](char c) { return c >= '0' && c <= '9'; })) return servers;
  for (const auto& server : tables.servers)
    if (server.cpu_key == key) servers.push_back(&server);
  return servers;
}

std::vector<const specpower_server*> servers_of_architecture(const estimate_tables& tables,
                                                             std::string_view architecture) {
  std::vector<const specpower_server*> servers;
  if (architecture.empty()) return servers;
  for (const auto& server : tables.servers)
    if (server.cpu_architecture == architecture) servers.push_back(&server);
  return servers;
}

power_curve per_thread_curve(const std::vector<const specpower_server*>& servers, int threads) {
  return specpower_curve(servers, threads,
                         [](const specpower_server& s, std::size_t step) { return s.watts[step] / s.threads; });
}

power_curve per_chip_curve(const std::vector<const specpower_server*>& servers, int packages) {
  return specpower_curve(servers, packages,
                         [](const specpower_server& s, std::size_t step) { return s.watts[step] / s.chips; });
}

estimate_model choose_estimate_model(const kepler_config& config, const node_facts& facts,
                                     const estimate_tables& tables) {
  if (auto user = user_model(config, facts)) return std::move(*user);
  const int threads = std::max(1, facts.logical_cpus);
  const auto architecture = node_microarchitecture(facts);
  if (const auto cloud = detect_cloud(facts); !cloud.provider.empty())
    return cloud_model(config, tables, cloud, facts, architecture, threads);
  return machine_model(tables, facts, architecture, threads);
}

}  // namespace kepler
