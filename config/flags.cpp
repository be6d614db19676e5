// Kepler's command-line flags (docs/compatibility.md §2.3) with CLI11; only typed flags override the file.

#include "config/detail.hpp"

#include <CLI/CLI.hpp>

#include <algorithm>
#include <filesystem>
#include <memory>

namespace kepler::detail {

namespace {

using override_fn = flag_override;

/// Declares flags and remembers, per flag, how to apply the value if the user typed it.
class flag_table {
 public:
  explicit flag_table(CLI::App& app) : app_(app) {}

  /// A flag taking a value; `apply(config, value)` runs only if the flag was typed.
  template <class T, class Apply>
  CLI::Option* value(const std::string& name, const std::string& help, T initial, Apply apply) {
    auto slot = std::make_shared<T>(std::move(initial));
    auto* option = app_.add_option(name, *slot, help);
    bindings_.push_back({option, [slot, apply](kepler_config& c, std::vector<std::string>&) { apply(c, *slot); }});
    return option;
  }

  /// A flag taking one of an enum's texts, for the setting `key`; a text that is none of them
  /// is reported with the other configuration errors, as the same value in the file would be.
  template <class E>
  CLI::Option* choice(const std::string& name, const std::string& key, const std::string& help,
                      E& (*field)(kepler_config&), E default_value) {
    auto slot = std::make_shared<std::string>();
    auto* option = app_.add_option(name, *slot, help + ": " + enum_choices<E>());
    option->default_str(std::string(to_string(default_value)));
    bindings_.push_back({option, [slot, key, field](kepler_config& c, std::vector<std::string>& errors) {
                           if (auto value = parse_enum<E>(trim(*slot))) field(c) = *value;
                           else errors.push_back(key + " \"" + *slot + "\" is not one of " + enum_choices<E>());
                         }});
    return option;
  }

  /// A repeatable flag taking one value per occurrence.
  template <class Apply>
  CLI::Option* list(const std::string& name, const std::string& help, Apply apply) {
    return value(name, help, std::vector<std::string>{}, apply)
        ->expected(1)
        ->allow_extra_args(false)
        ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
  }

  /// A boolean: `--name`, `--no-name`, `--name=true|false`.
  template <class Apply>
  CLI::Option* toggle(const std::string& name, const std::string& help, Apply apply) {
    auto slot = std::make_shared<bool>(false);
    auto* option = app_.add_flag(name + ",!--no-" + name.substr(2), *slot, help);
    bindings_.push_back({option, [slot, apply](kepler_config& c, std::vector<std::string>&) { apply(c, *slot); }});
    return option;
  }

  /// The overrides of the flags that appeared on the command line.
  std::vector<override_fn> typed() const {
    std::vector<override_fn> out;
    for (const auto& b : bindings_)
      if (b.option->count() > 0) out.push_back(b.apply);
    return out;
  }

 private:
  struct binding {
    CLI::Option* option;
    override_fn apply;
  };
  CLI::App& app_;
  std::vector<binding> bindings_;
};

const CLI::Validator duration_check(
    [](std::string& text) { return parse_duration(trim(text)) ? std::string{} : "invalid duration \"" + text + "\""; },
    "DURATION");

const CLI::Validator level_check(
    [](std::string& text) {
      auto level = parse_metrics_level(text);
      return level ? std::string{} : level.error_message();
    },
    "LEVEL");

const CLI::Validator existing_file_check(
    [](std::string& text) {
      auto path = trim(text);
      return path.empty() || std::filesystem::is_regular_file(path) ? std::string{}
                                                                    : "path \"" + text + "\" does not exist";
    },
    "FILE");

/// Kepler's accumulator: starts at "all", which the first typed level resets.
unsigned accumulate_levels(const std::vector<std::string>& names) {
  unsigned levels = level_all;
  for (const auto& name : names) {
    auto bit = parse_metrics_level(name);  // checked by level_check
    if (levels == level_all) levels = 0;
    levels |= bit ? bit.value() : 0;
  }
  return levels;
}

/// The defaults every flag shows in --help: the configuration's own, defined once.
const kepler_config defaults;

std::string text_of(bool value) { return value ? "true" : "false"; }

void add_core_flags(flag_table& flags) {
  flags.choice<log_level>(
      "--log.level", "log.level", "Logging level", [](kepler_config& c) -> log_level& { return c.log.level; },
      defaults.log.level);
  flags.choice<log_format>(
      "--log.format", "log.format", "Logging format", [](kepler_config& c) -> log_format& { return c.log.format; },
      defaults.log.format);
  flags
      .value("--host.sysfs", "Host sysfs path", defaults.host.sysfs,
             [](kepler_config& c, const std::string& v) { c.host.sysfs = v; })
      ->default_str(defaults.host.sysfs);
  flags
      .value("--host.procfs", "Host procfs path", defaults.host.procfs,
             [](kepler_config& c, const std::string& v) { c.host.procfs = v; })
      ->default_str(defaults.host.procfs);
  flags
      .value("--monitor.interval", "Interval between snapshots (0, scrape-driven in v0.11, means 5s here)",
             format_duration(defaults.monitor.interval),
             [](kepler_config& c, const std::string& v) {
               if (auto interval = parse_duration(trim(v))) c.monitor.interval = interval.value();
             })
      ->check(duration_check)
      ->default_str(format_duration(defaults.monitor.interval));
  flags
      .value("--monitor.max-terminated",
             "Maximum number of terminated workloads to keep until exported "
             "(<0 unlimited, 0 disabled)",
             defaults.monitor.max_terminated, [](kepler_config& c, int64_t v) { c.monitor.max_terminated = v; })
      ->default_str(std::to_string(defaults.monitor.max_terminated));
  flags.toggle("--debug.pprof", "Enable pprof debugging", [](kepler_config& c, bool v) { c.debug.pprof_enabled = v; })
      ->default_str(text_of(defaults.debug.pprof_enabled));
  flags
      .toggle("--experimental.hwmon.enabled", "Read power from hwmon only (cpu.preferredMeters: [hwmon])",
              [](kepler_config& c, bool v) {
                c.hwmon.enabled = v;
                if (v) c.cpu.preferred_meters = {meter_kind::hwmon};
              })
      ->default_str(text_of(defaults.hwmon.enabled));
}

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ",") + item;
  return out;
}

void add_service_flags(flag_table& flags) {
  flags.value("--web.config-file", "Path to the web config file (TLS, basic auth)", defaults.web.config_file,
              [](kepler_config& c, const std::string& v) { c.web.config_file = v; });
  flags
      .list("--web.listen-address", "Web server listen address; repeat for several (replaces the default list)",
            [](kepler_config& c, const std::vector<std::string>& v) { c.web.listen_addresses = v; })
      ->default_str(joined(defaults.web.listen_addresses));
  flags
      .toggle("--exporter.stdout", "Enable the stdout exporter",
              [](kepler_config& c, bool v) { c.exporter.stdout_exporter.enabled = v; })
      ->default_str(text_of(defaults.exporter.stdout_exporter.enabled));
  flags
      .toggle("--exporter.prometheus", "Enable the Prometheus exporter",
              [](kepler_config& c, bool v) { c.exporter.prometheus.enabled = v; })
      ->default_str(text_of(defaults.exporter.prometheus.enabled));
  flags
      .list("--metrics", "Metrics level to export, one per occurrence: node, process, container, vm, pod",
            [](kepler_config& c, const std::vector<std::string>& v) {
              c.exporter.prometheus.metrics_level = accumulate_levels(v);
            })
      ->check(level_check)
      ->default_str(joined(metrics_level_names(defaults.exporter.prometheus.metrics_level)));
  flags
      .value("--exporter.prometheus.max-process-series",
             "Only the N processes with the most energy in an interval get their own process series; the rest "
             "are summed per container (0: no cap)",
             defaults.exporter.prometheus.max_process_series,
             [](kepler_config& c, int64_t v) { c.exporter.prometheus.max_process_series = v; })
      ->default_str(std::to_string(defaults.exporter.prometheus.max_process_series));
  flags.toggle("--kube.enable", "Monitor Kubernetes", [](kepler_config& c, bool v) { c.kube.enabled = v; })
      ->default_str(text_of(defaults.kube.enabled));
  flags
      .value("--kube.config", "Path to a kubeconfig; only needed out of cluster", defaults.kube.config,
             [](kepler_config& c, const std::string& v) { c.kube.config = v; })
      ->check(existing_file_check);
  flags.value("--kube.node-name", "Name of the Kubernetes node Kepler runs on", defaults.kube.node_name,
              [](kepler_config& c, const std::string& v) { c.kube.node_name = v; });
  const auto& redfish = defaults.platform.redfish;
  flags
      .toggle("--experimental.platform.redfish.enabled", "Read the node's power from its BMC over Redfish",
              [](kepler_config& c, bool v) { c.platform.redfish.enabled = v; })
      ->default_str(text_of(redfish.enabled));
  flags.value("--experimental.platform.redfish.node-name", "Node name to look up in the Redfish file",
              redfish.node_name, [](kepler_config& c, const std::string& v) { c.platform.redfish.node_name = v; });
  flags.value("--experimental.platform.redfish.config-file", "Path to the Redfish BMC file", redfish.config_file,
              [](kepler_config& c, const std::string& v) { c.platform.redfish.config_file = v; });
}

flag_result stop(int code, std::string message) {
  flag_result result;
  result.exit = true;
  result.exit_code = code;
  result.message = std::move(message);
  return result;
}

}  // namespace

flag_result parse_flags(int argc, const char* const* argv) {
  CLI::App app{"Kepler: Kubernetes-based Efficient Power Level Exporter", "kepler"};
  app.set_help_flag("-h,--help", "Show this help and exit");
  auto* version = app.add_flag("--version")->description("Show the version and exit");
  std::string config_file;
  app.add_option("--config.file", config_file, "Path to the YAML configuration file");
  flag_table flags(app);
  add_core_flags(flags);
  add_service_flags(flags);

  std::vector<std::string> args(argv + std::min(argc, 1), argv + std::max(argc, 0));
  std::reverse(args.begin(), args.end());  // CLI11 consumes a vector from the back
  try {
    app.parse(args);
  } catch (const CLI::CallForHelp&) {
    return stop(0, app.help());
  } catch (const CLI::ParseError& e) {
    return stop(1, std::string("kepler: error: ") + e.what());
  }
  if (version->count() > 0) return stop(0, version_text());

  flag_result result;
  result.config_file = trim(config_file);
  result.overrides = flags.typed();
  return result;
}

}  // namespace kepler::detail
