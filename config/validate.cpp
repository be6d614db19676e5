// Validation (docs/compatibility.md §2.4) and trimming (§2.1) of a configuration.

#include "config/detail.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <cmath>

namespace kepler {

namespace {

std::string in_quotes(const std::string& text) { return "\"" + text + "\""; }

bool one_of(const std::string& value, std::initializer_list<std::string_view> allowed) {
  return std::find(allowed.begin(), allowed.end(), value) != allowed.end();
}

/// Like Go's canReadDir: the directory opens and lists at least one entry.
bool readable_directory(const std::string& path) {
  DIR* dir = ::opendir(path.c_str());
  if (dir == nullptr) return false;
  bool found = false;
  while (auto* entry = ::readdir(dir)) {
    std::string_view name = entry->d_name;
    if (name != "." && name != "..") {
      found = true;
      break;
    }
  }
  ::closedir(dir);
  return found;
}

/// Like Go's canReadFile: the file opens and its first read returns data.
bool readable_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return false;
  char buf[8];
  auto n = ::read(fd, buf, sizeof buf);
  ::close(fd);
  return n > 0;
}

/// Checks `host:port` as Go's net.SplitHostPort does, plus the port range; "" when fine.
std::string listen_address_problem(const std::string& address) {
  std::string host;
  std::string port;
  if (address.starts_with('[')) {
    auto close = address.find(']');
    if (close == std::string::npos) return "missing ']' in address";
    if (close + 1 >= address.size() || address[close + 1] != ':') return "missing port in address";
    host = address.substr(1, close - 1);
    port = address.substr(close + 2);
  } else {
    auto colon = address.rfind(':');
    if (colon == std::string::npos) return "missing port in address";
    host = address.substr(0, colon);
    if (host.find(':') != std::string::npos) return "too many colons; put IPv6 hosts in brackets";
    port = address.substr(colon + 1);
  }
  unsigned value = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc{} || end != port.data() + port.size() || value < 1 || value > 65535)
    return "port must be 1..65535";
  return {};
}

void check_host(std::vector<std::string>& errors, const char* name, const std::string& path) {
  if (!readable_directory(path))
    errors.push_back(std::string(name) + " " + in_quotes(path) + " is not a readable directory");
}

void check_web(std::vector<std::string>& errors, const kepler_config& c) {
  if (!c.web.config_file.empty() && !readable_file(c.web.config_file))
    errors.push_back("web.configFile " + in_quotes(c.web.config_file) + " is not a readable file");
  if (c.web.listen_addresses.empty()) errors.push_back("web.listenAddresses must not be empty");
  for (const auto& address : c.web.listen_addresses) {
    if (address.empty()) {
      errors.push_back("web.listenAddresses contains an empty address");
    } else if (auto problem = listen_address_problem(address); !problem.empty()) {
      errors.push_back("web.listenAddresses " + in_quotes(address) + ": " + problem);
    }
  }
}

void check_monitor(std::vector<std::string>& errors, const kepler_config& c) {
  using std::chrono::nanoseconds;
  if (c.monitor.interval < nanoseconds::zero()) errors.push_back("monitor.interval must be ≥ 0");
  if (c.monitor.staleness < nanoseconds::zero()) errors.push_back("monitor.staleness must be ≥ 0");
  if (c.monitor.terminated_retention < nanoseconds::zero()) errors.push_back("monitor.terminatedRetention must be ≥ 0");
  if (c.monitor.min_terminated_energy_threshold < 0)
    errors.push_back("monitor.minTerminatedEnergyThreshold must be ≥ 0");
}

void check_exporters(std::vector<std::string>& errors, const kepler_config& c) {
  for (const auto& name : c.exporter.prometheus.debug_collectors)
    if (!one_of(name, {"go", "process"}))
      errors.push_back("exporter.prometheus.debugCollectors " + in_quotes(name) + " is not one of go, process");
  auto levels = c.exporter.prometheus.metrics_level;
  if (levels == 0 || (levels & ~unsigned{level_all}) != 0)
    errors.push_back(
        "exporter.prometheus.metricsLevel must name levels among node, process, "
        "container, vm, pod");
  if (c.exporter.prometheus.max_process_series < 0)
    errors.push_back("exporter.prometheus.maxProcessSeries must be ≥ 0 (0: no cap)");
}

void check_kube(std::vector<std::string>& errors, const kepler_config& c) {
  if (!c.kube.enabled) return;
  if (!c.kube.config.empty() && !readable_file(c.kube.config))
    errors.push_back("kube.config " + in_quotes(c.kube.config) + " is not a readable file");
  if (c.kube.node_name.empty()) errors.push_back("kube.node-name not supplied but kube.enable set to true");
  const auto& informer = c.kube.pod_informer;
  if (informer.poll_interval <= std::chrono::nanoseconds::zero())
    errors.push_back("kube.podInformer.pollInterval must be > 0");
  if (informer.max_response_bytes < 4096) errors.push_back("kube.podInformer.maxResponseBytes must be ≥ 4096");
  if (!c.kube.kubelet.endpoint.empty() && !c.kube.kubelet.endpoint.starts_with("https://") &&
      !c.kube.kubelet.endpoint.starts_with("http://"))
    errors.push_back("kube.kubelet.endpoint " + in_quotes(c.kube.kubelet.endpoint) +
                     " must start with https:// or http://");
}

void check_meters(std::vector<std::string>& errors, const kepler_config& c) {
  if (c.cpu.preferred_meters.empty()) errors.push_back("cpu.preferredMeters must not be empty");
  if (!(c.rapl.max_plausible_watts > 0)) errors.push_back("rapl.maxPlausibleWatts must be > 0");
  const auto& fake = c.fake_cpu_meter;
  if (fake.idle_watts < 0) errors.push_back("dev.fake-cpu-meter.idleWatts must be ≥ 0");
  if (fake.max_watts < 0) errors.push_back("dev.fake-cpu-meter.maxWatts must be ≥ 0");
  if (fake.max_watts < fake.idle_watts)
    errors.push_back("dev.fake-cpu-meter.maxWatts must be ≥ dev.fake-cpu-meter.idleWatts");
  if (c.msr.device_path.find("%d") == std::string::npos)
    errors.push_back("msr.devicePath " + in_quotes(c.msr.device_path) + " must hold %d for the CPU number");
}

/// estimate.curve: at least two points, loads rising from 0 % to 100 %, watts ≥ 0.
void check_estimate_curve(std::vector<std::string>& errors, const std::vector<load_watts>& curve) {
  if (curve.empty()) return;
  if (curve.size() < 2) {
    errors.push_back("estimate.curve needs at least two points (0 % and 100 % load)");
    return;
  }
  for (std::size_t i = 0; i < curve.size(); ++i) {
    const auto& point = curve[i];
    auto where = "estimate.curve entry " + std::to_string(i + 1);
    if (!std::isfinite(point.load_percent) || point.load_percent < 0 || point.load_percent > 100)
      errors.push_back(where + ": load must be 0..100 %");
    else if (i > 0 && !(point.load_percent > curve[i - 1].load_percent))
      errors.push_back(where + ": loads must rise from one point to the next");
    if (!std::isfinite(point.watts) || point.watts < 0) errors.push_back(where + ": watts must be ≥ 0");
  }
  if (curve.front().load_percent != 0 || curve.back().load_percent != 100)
    errors.push_back("estimate.curve must start at 0 % load and end at 100 %");
}

/// The estimate's overrides: non-negative finite watts, and one kind of override at most.
void check_estimate(std::vector<std::string>& errors, const kepler_config& c) {
  const auto& e = c.estimate;
  for (auto [name, value] : {std::pair{"estimate.tdpWatts", e.tdp_watts}, std::pair{"estimate.idleWatts", e.idle_watts},
                             std::pair{"estimate.maxWatts", e.max_watts}})
    if (!std::isfinite(value) || value < 0) errors.push_back(std::string(name) + " must be a number ≥ 0");
  if (e.idle_watts > 0 && !(e.max_watts > 0)) errors.push_back("estimate.idleWatts needs estimate.maxWatts");
  if (e.max_watts > 0 && e.max_watts < e.idle_watts) errors.push_back("estimate.maxWatts must be ≥ estimate.idleWatts");
  check_estimate_curve(errors, e.curve);
  const int kinds = (e.tdp_watts > 0 ? 1 : 0) + (e.max_watts > 0 ? 1 : 0) + (e.curve.empty() ? 0 : 1);
  if (kinds > 1)
    errors.push_back(
        "set only one of estimate.curve, estimate.maxWatts (with estimate.idleWatts) and estimate.tdpWatts");
}

/// Kepler's rule (a readable file when enabled), plus ours: positive intervals.
void check_platform(std::vector<std::string>& errors, const kepler_config& c) {
  const auto& redfish = c.platform.redfish;
  if (!redfish.enabled) return;
  if (redfish.config_file.empty())
    errors.push_back("experimental.platform.redfish.configFile is required when Redfish is enabled");
  else if (!readable_file(redfish.config_file))
    errors.push_back("experimental.platform.redfish.configFile " + in_quotes(redfish.config_file) +
                     " is not a readable file");
  using std::chrono::nanoseconds;
  if (redfish.http_timeout <= nanoseconds::zero())
    errors.push_back("experimental.platform.redfish.httpTimeout must be > 0");
  if (redfish.poll_interval <= nanoseconds::zero())
    errors.push_back("experimental.platform.redfish.pollInterval must be > 0");
  if (redfish.staleness < redfish.poll_interval)
    errors.push_back("experimental.platform.redfish.staleness must be ≥ experimental.platform.redfish.pollInterval");
}

void trim_each(std::vector<std::string>& items) {
  for (auto& item : items) item = detail::trim(item);
}

}  // namespace

std::vector<std::string> validate(const kepler_config& config) {
  std::vector<std::string> errors;
  check_host(errors, "host.sysfs", config.host.sysfs);
  check_host(errors, "host.procfs", config.host.procfs);
  check_web(errors, config);
  check_monitor(errors, config);
  check_exporters(errors, config);
  check_kube(errors, config);
  check_meters(errors, config);
  check_estimate(errors, config);
  check_platform(errors, config);
  return errors;
}

void sanitize(kepler_config& config) {
  for (auto* text :
       {&config.host.sysfs, &config.host.procfs, &config.web.config_file, &config.kube.config,
        &config.estimate.instance_type, &config.platform.redfish.node_name, &config.platform.redfish.config_file})
    *text = detail::trim(*text);
  trim_each(config.web.listen_addresses);
  trim_each(config.rapl.zones);
  trim_each(config.exporter.prometheus.debug_collectors);
  trim_each(config.fake_cpu_meter.zones);
  trim_each(config.hwmon.zones);
}

}  // namespace kepler
