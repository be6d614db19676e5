#pragma once
// The table of known YAML keys: one line per key, shared by decoding and printing.

#include "config/config.hpp"

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "config/detail.hpp"

namespace kepler::detail {

/// A metricsLevel bit set: a level name or a list of them in YAML.
struct level_set {
  unsigned* bits;
};

/// A setting that takes one of an enum's texts (leading and trailing spaces ignored, as v0.11
/// trims its strings).
struct choice_key {
  std::function<std::string()> text;          ///< the value's text, for printing
  std::function<bool(std::string_view)> set;  ///< false when the text is not one of the choices
  std::string choices;                        ///< "a, b, c", for messages
};

template <class E>
choice_key choice_of(E& field) {
  return {[&field] { return std::string(to_string(field)); },
          [&field](std::string_view text) {
            auto value = parse_enum<E>(trim(text));
            if (value) field = *value;
            return value.has_value();
          },
          enum_choices<E>()};
}

/// A list of an enum's texts; a list given replaces the default entirely.
struct choice_list_key {
  std::function<std::vector<std::string>()> texts;
  /// Sets the list, or returns the first text that is not one of the choices (nothing set).
  std::function<std::optional<std::string>(const std::vector<std::string>&)> set;
  std::string choices;
};

template <class E>
choice_list_key choice_list_of(std::vector<E>& field) {
  return {[&field] {
            std::vector<std::string> texts;
            for (E value : field) texts.emplace_back(to_string(value));
            return texts;
          },
          [&field](const std::vector<std::string>& texts) -> std::optional<std::string> {
            std::vector<E> values;
            for (const auto& text : texts) {
              auto value = parse_enum<E>(trim(text));
              if (!value) return text;
              values.push_back(*value);
            }
            field = std::move(values);
            return std::nullopt;
          },
          enum_choices<E>()};
}

/// experimental.hwmon.chipRules: a list of mappings (yaml.cpp decodes and prints them).
struct hwmon_rules_key {
  std::vector<hwmon_chip_rule>* rules;
};

/// Where a key's value goes.
using key_target =
    std::variant<std::string*, bool*, int64_t*, double*, std::chrono::nanoseconds*, std::vector<std::string>*,
                 std::vector<load_watts>*, level_set, choice_key, choice_list_key, hwmon_rules_key>;

/// A known key: its full dotted path in Kepler's names and its field.
struct key_binding {
  std::string_view path;
  key_target target;
};

/// Every key the YAML file may hold, bound to `c`'s fields, in printing order.
inline std::vector<key_binding> known_keys(kepler_config& c) {
  auto& prom = c.exporter.prometheus;
  return {
      {"log.level", choice_of(c.log.level)},
      {"log.format", choice_of(c.log.format)},
      {"host.sysfs", &c.host.sysfs},
      {"host.procfs", &c.host.procfs},
      {"monitor.interval", &c.monitor.interval},
      {"monitor.staleness", &c.monitor.staleness},
      {"monitor.maxTerminated", &c.monitor.max_terminated},
      {"monitor.minTerminatedEnergyThreshold", &c.monitor.min_terminated_energy_threshold},
      {"monitor.terminatedRetention", &c.monitor.terminated_retention},
      {"rapl.zones", &c.rapl.zones},
      {"rapl.maxPlausibleWatts", &c.rapl.max_plausible_watts},
      {"cpu.preferredMeters", choice_list_of(c.cpu.preferred_meters)},
      {"experimental.hwmon.enabled", &c.hwmon.enabled},
      {"experimental.hwmon.zones", &c.hwmon.zones},
      {"experimental.hwmon.chipRules", hwmon_rules_key{&c.hwmon.chip_rules}},
      {"msr.devicePath", &c.msr.device_path},
      {"bpf.enabled", choice_of(c.bpf.enabled)},
      {"bpf.runTimeStats", &c.bpf.run_time_stats},
      {"exporter.stdout.enabled", &c.exporter.stdout_exporter.enabled},
      {"exporter.prometheus.enabled", &prom.enabled},
      {"exporter.prometheus.debugCollectors", &prom.debug_collectors},
      {"exporter.prometheus.metricsLevel", level_set{&prom.metrics_level}},
      {"exporter.prometheus.legacyMetrics", &prom.legacy_metrics},
      {"exporter.prometheus.maxProcessSeries", &prom.max_process_series},
      {"exporter.ui.enabled", &c.exporter.ui.enabled},
      {"debug.pprof.enabled", &c.debug.pprof_enabled},
      {"web.configFile", &c.web.config_file},
      {"web.listenAddresses", &c.web.listen_addresses},
      {"kube.enabled", &c.kube.enabled},
      {"kube.config", &c.kube.config},
      {"kube.nodeName", &c.kube.node_name},
      {"kube.podInformer.mode", choice_of(c.kube.pod_informer.mode)},
      {"kube.podInformer.pollInterval", &c.kube.pod_informer.poll_interval},
      {"kube.podInformer.maxResponseBytes", &c.kube.pod_informer.max_response_bytes},
      {"kube.kubelet.endpoint", &c.kube.kubelet.endpoint},
      {"kube.kubelet.tokenFile", &c.kube.kubelet.token_file},
      {"kube.kubelet.caFile", &c.kube.kubelet.ca_file},
      {"kube.kubelet.insecureSkipVerify", &c.kube.kubelet.insecure_skip_verify},
      {"dev.fake-cpu-meter.enabled", &c.fake_cpu_meter.enabled},
      {"dev.fake-cpu-meter.zones", &c.fake_cpu_meter.zones},
      {"dev.fake-cpu-meter.idleWatts", &c.fake_cpu_meter.idle_watts},
      {"dev.fake-cpu-meter.maxWatts", &c.fake_cpu_meter.max_watts},
      {"estimate.tdpWatts", &c.estimate.tdp_watts},
      {"estimate.idleWatts", &c.estimate.idle_watts},
      {"estimate.maxWatts", &c.estimate.max_watts},
      {"estimate.curve", &c.estimate.curve},
      {"estimate.instanceType", &c.estimate.instance_type},
      {"experimental.platform.redfish.enabled", &c.platform.redfish.enabled},
      {"experimental.platform.redfish.nodeName", &c.platform.redfish.node_name},
      {"experimental.platform.redfish.configFile", &c.platform.redfish.config_file},
      {"experimental.platform.redfish.httpTimeout", &c.platform.redfish.http_timeout},
      {"experimental.platform.redfish.pollInterval", &c.platform.redfish.poll_interval},
      {"experimental.platform.redfish.staleness", &c.platform.redfish.staleness},
      {"experimental.platform.acpi.enabled", &c.platform.acpi.enabled},
      {"experimental.platform.attributeToWorkloads", &c.platform.attribute_workloads},
  };
}

}  // namespace kepler::detail
