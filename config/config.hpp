#pragma once
// Kepler's configuration: v0.11 YAML and flags with the same precedence (docs/compatibility.md §2),
// plus our own additions. CAF-free so it can be tested on its own.

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "base/named_enum.hpp"
#include "base/result.hpp"

namespace kepler {

/// log.level
#define KEPLER_LOG_LEVELS(X) X(debug, "debug") X(info, "info") X(warn, "warn") X(error, "error")
KEPLER_NAMED_ENUM(log_level, KEPLER_LOG_LEVELS)

/// log.format
#define KEPLER_LOG_FORMATS(X) X(text, "text") X(json, "json")
KEPLER_NAMED_ENUM(log_format, KEPLER_LOG_FORMATS)

/// bpf.enabled (ours): CPU time from eBPF when it loads, else /proc with a warning (auto); always,
/// a load failure being fatal (true); never (false).
#define KEPLER_BPF_MODES(X) X(automatic, "auto") X(required, "true") X(off, "false")
KEPLER_NAMED_ENUM(bpf_mode, KEPLER_BPF_MODES)

/// kube.podInformer.mode (Kepler HEAD's key): the local kubelet's /pods (ours by default,
/// docs/compatibility.md difference #15) or an API-server list and watch.
#define KEPLER_POD_INFORMER_MODES(X) X(kubelet, "kubelet") X(apiserver, "apiserver")
KEPLER_NAMED_ENUM(pod_informer_mode, KEPLER_POD_INFORMER_MODES)

/// An entry of cpu.preferredMeters (Kepler HEAD's key).
#define KEPLER_METER_KINDS(X) X(rapl, "rapl") X(msr, "msr") X(hwmon, "hwmon") X(fake, "fake") X(estimate, "estimate")
KEPLER_NAMED_ENUM(meter_kind, KEPLER_METER_KINDS)

/// Bit set of exported metric levels (docs/compatibility.md §2.2).
enum metrics_level : unsigned {
  level_node = 1,
  level_process = 2,
  level_container = 4,
  level_vm = 8,
  level_pod = 16,
  level_all = 31,
};

/// An entry of experimental.hwmon.chipRules: how to read one hwmon chip. The pairing fields are
/// Kepler's; `zones` and `energy_range_uj` are ours.
struct hwmon_chip_rule {
  std::string chip;                          ///< the chip's `name` file, case-insensitive
  std::map<int, int> pairings;               ///< inN → currM, for chips whose indices differ
  std::vector<int> skip_voltages;            ///< inN that are shunt or auxiliary voltages
  std::vector<int> skip_currents;            ///< currN without a voltage (per-phase currents, ...)
  bool same_index = false;                   ///< inN pairs with currN
  std::map<std::string, std::string> zones;  ///< channel (power1, energy2, in1) or its label → zone name
  uint64_t energy_range_uj = 0;              ///< where the chip's energy counters wrap, 0 = never (64 bit)
};

/// One point of estimate.curve (ours): the node's watts at a CPU load in percent.
struct load_watts {
  double load_percent = 0;
  double watts = 0;
  bool operator==(const load_watts&) const = default;
};

struct kepler_config {
  struct {
    log_level level = log_level::info;
    log_format format = log_format::text;
  } log;
  struct {
    std::string sysfs = "/sys";
    std::string procfs = "/proc";
  } host;
  struct {
    std::chrono::nanoseconds interval = std::chrono::seconds(5);
    std::chrono::nanoseconds staleness = std::chrono::milliseconds(500);
    int64_t max_terminated = 500;
    int64_t min_terminated_energy_threshold = 10;  ///< joules
    /// Ours: how long a terminated workload stays exported (two 30 s scrapes by default).
    std::chrono::nanoseconds terminated_retention = std::chrono::seconds(60);
  } monitor;
  struct {
    std::vector<std::string> zones;
    /// Ours: the most power one zone can plausibly draw. Readings implying more are rejected
    /// and counted, and samplers read often enough to see every wrap at this power. 10 kW is
    /// ten times the largest server package's peak, yet a counter reset on a 262 kJ range
    /// read 5 s later implies ≥ 50 kW on average and is caught.
    double max_plausible_watts = 10'000.0;
  } rapl;
  struct {
    /// Tried in order: measured first (RAPL through powercap, then its MSRs, then hwmon), an
    /// estimate from published measurements as the last resort (the fake meter is for demos).
    std::vector<meter_kind> preferred_meters{meter_kind::rapl, meter_kind::msr, meter_kind::hwmon,
                                             meter_kind::estimate};
  } cpu;
  struct {
    /// Kepler's switch; like its later forceEnabled, true means cpu.preferredMeters = [hwmon].
    bool enabled = false;
    std::vector<std::string> zones;  ///< zone names to keep, empty = all
    std::vector<hwmon_chip_rule> chip_rules;
  } hwmon;
  struct {
    /// Ours: each CPU's MSR device, `%d` standing for the CPU number (tests point it at files).
    std::string device_path = "/dev/cpu/%d/msr";
  } msr;
  struct {
    struct {
      bool enabled = false;
    } stdout_exporter;
    struct {
      bool enabled = true;
      std::vector<std::string> debug_collectors{"go"};
      unsigned metrics_level = level_all;
      /// Ours: also export Kepler ≤ 0.9's per-zone families for old dashboards (docs/compatibility.md difference #17).
      bool legacy_metrics = false;
      /// Ours: at most this many processes get their own kepler_process_* series, those with
      /// the most energy in the interval; the rest are summed per container (pid="",
      /// comm="others"). 0 = no cap, v0.11's families unchanged.
      int64_t max_process_series = 0;
    } prometheus;
    struct {
      /// Ours: the page at `/` (where the node's power goes, live) and /api/v1/summary behind
      /// it; false serves the plain list of endpoints at `/` and no summary.
      bool enabled = true;
    } ui;
  } exporter;
  struct {
    bool pprof_enabled = false;
  } debug;
  struct {
    bpf_mode enabled = bpf_mode::automatic;
    /// Ours: the kernel's BPF run-time statistics (kepler_bpf_program_*). They are system-wide:
    /// while on, every BPF program on the node pays two clock reads per run.
    bool run_time_stats = true;
  } bpf;
  struct {
    std::string config_file;
    std::vector<std::string> listen_addresses{":28282"};
  } web;
  struct {
    bool enabled = false;
    std::string config;
    std::string node_name;
    struct {
      pod_informer_mode mode = pod_informer_mode::kubelet;
      std::chrono::nanoseconds poll_interval = std::chrono::seconds(15);
      /// Ours: largest pod list or watch line accepted, so a broken server cannot exhaust memory.
      int64_t max_response_bytes = 64 << 20;
    } pod_informer;
    struct {
      std::string endpoint;  ///< empty: https://$NODE_IP:10250, else the Node object's InternalIP
      std::string token_file = "/var/run/secrets/kubernetes.io/serviceaccount/token";
      std::string ca_file = "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt";
      bool insecure_skip_verify = false;
    } kubelet;
  } kube;
  struct {
    bool enabled = false;
    std::vector<std::string> zones;  ///< empty = package, core, dram
    double idle_watts = 10.0;        ///< ours: package watts at 0 % CPU
    double max_watts = 60.0;         ///< ours: package watts at 100 % CPU
  } fake_cpu_meter;
  /// Whole-node power (docs/platform.md): the server's BMC over Redfish, as Kepler's
  /// experimental.platform.redfish, and the ACPI power meter (ours).
  struct {
    struct {
      bool enabled = false;
      std::string node_name;    ///< empty: kube.nodeName, else the host name
      std::string config_file;  ///< node name → BMC, and each BMC's endpoint and credentials
      std::chrono::nanoseconds http_timeout = std::chrono::seconds(5);  ///< per request
      /// Ours: how often the BMC is read, on its own schedule (never on the engine's path).
      std::chrono::nanoseconds poll_interval = std::chrono::seconds(10);
      /// Ours: a reading older than this is not used; its power is not carried further.
      std::chrono::nanoseconds staleness = std::chrono::seconds(60);
    } redfish;
    struct {
      bool enabled = true;  ///< ours: the ACPI power meter (hwmon `power_meter`) where there is one
    } acpi;
    /// Ours: also share platform energy among workloads (kepler_*_platform_*); doubles their series.
    bool attribute_workloads = false;
  } platform;
  /// Ours: the estimate meter (docs/estimate.md). Unset overrides (0, empty) leave the model to
  /// the node's DMI and /proc/cpuinfo; at most one kind of override may be given.
  struct {
    double tdp_watts = 0;           ///< TDP of one CPU package, with the Teads curve
    double idle_watts = 0;          ///< node watts at 0 % CPU; only with max_watts
    double max_watts = 0;           ///< node watts at 100 % CPU, linear in between
    std::vector<load_watts> curve;  ///< node watts at loads from 0 % to 100 %, interpolated
    std::string instance_type;      ///< cloud instance or machine type where DMI does not say it
  } estimate;
};

/// What parsing the command line decided.
struct config_outcome {
  enum class action { run, exit } next = action::run;
  int exit_code = 0;
  std::string message;  ///< --help / --version text, or the error report
  kepler_config config;
  std::vector<std::string> warnings;  ///< e.g. unknown YAML keys, deprecated aliases
};

/// Defaults, then the YAML file of --config.file (validated on its own), then only the flags
/// the user typed; trims, validates again. All errors are reported at once as
/// `invalid configuration: e1, e2, …` with exit code 1.
config_outcome load_config(int argc, const char* const* argv);

/// Checks a configuration (docs/compatibility.md §2.4) and returns one message per problem, naming the setting.
std::vector<std::string> validate(const kepler_config& config);

/// The effective configuration as YAML in Kepler's key names (for the start-up banner).
std::string to_yaml(const kepler_config& config);

/// The bit of a metrics level name (node, process, container, vm, pod; case-insensitive,
/// spaces around ignored).
result<unsigned> parse_metrics_level(std::string_view name);

/// Names of the levels set in a bit set, in the order node, process, container, vm, pod.
std::vector<std::string> metrics_level_names(unsigned levels);

/// Trims the strings v0.11 trims (docs/compatibility.md §2.1), plus our list entries.
void sanitize(kepler_config& config);

/// Parses a Go duration ("5s", "500ms", "1m30s", "1.5h", "-2us", "0"); a parse error on bad
/// syntax or overflow.
result<std::chrono::nanoseconds> parse_duration(std::string_view text);

/// Formats a duration as Go's time.Duration.String() does ("5s", "500ms", "1m30s", "0s").
std::string format_duration(std::chrono::nanoseconds duration);

/// The `--version` text: `kepler version <v>` plus revision and branch when known.
std::string version_text();

}  // namespace kepler
