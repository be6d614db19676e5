// Configuration loading: defaults, YAML file, typed flags, validation and printing (docs/compatibility.md §2).

#include "config/config.hpp"

#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "test/config/config_support.hpp"

using namespace kepler;
using namespace kepler::test;
using namespace std::chrono_literals;

TEST_CASE("no file and no flags give Kepler's defaults", "[config]") {
  auto out = load({});
  REQUIRE(runs(out));
  const auto& c = out.config;
  CHECK(c.log.level == log_level::info);
  CHECK(c.log.format == log_format::text);
  CHECK(c.host.sysfs == "/sys");
  CHECK(c.monitor.interval == 5s);
  CHECK(c.monitor.staleness == 500ms);
  CHECK(c.monitor.max_terminated == 500);
  CHECK(c.exporter.prometheus.enabled);
  CHECK(c.exporter.prometheus.debug_collectors == strings{"go"});
  CHECK(c.exporter.prometheus.metrics_level == level_all);
  CHECK(c.web.listen_addresses == strings{":28282"});
  CHECK(c.cpu.preferred_meters ==
        std::vector{meter_kind::rapl, meter_kind::msr, meter_kind::hwmon, meter_kind::estimate});
  CHECK(out.warnings.empty());
}

TEST_CASE("a config file overrides defaults and absent keys keep them", "[config]") {
  scratch tmp;
  auto file = tmp.config(
      "log:\n  level: debug\nmonitor:\n  interval: 1m30s\n  maxTerminated: -1\n"
      "  terminatedRetention: 2m\ndev:\n  fake-cpu-meter:\n    idleWatts: 5\n    maxWatts: 7.5\n"
      "rapl:\n  maxPlausibleWatts: 2500\n");
  auto out = load({"--config.file=" + file});
  REQUIRE(runs(out));
  CHECK(out.config.log.level == log_level::debug);
  CHECK(out.config.log.format == log_format::text);
  CHECK(out.config.host.sysfs == tmp.path("sys"));
  CHECK(out.config.monitor.interval == 90s);
  CHECK(out.config.monitor.staleness == 500ms);
  CHECK(out.config.monitor.max_terminated == -1);
  CHECK(out.config.monitor.terminated_retention == 120s);
  CHECK(out.config.fake_cpu_meter.idle_watts == 5.0);
  CHECK(out.config.fake_cpu_meter.max_watts == 7.5);
  CHECK(out.config.rapl.max_plausible_watts == 2500.0);
  CHECK(load({}).config.rapl.max_plausible_watts == 10'000.0);
}

TEST_CASE("legacy metric families are off by default and switched on in the file", "[config]") {
  CHECK_FALSE(load({}).config.exporter.prometheus.legacy_metrics);
  scratch tmp;
  auto file = tmp.config("exporter:\n  prometheus:\n    legacyMetrics: true\n");
  auto out = load({"--config.file=" + file});
  REQUIRE(runs(out));
  CHECK(out.config.exporter.prometheus.legacy_metrics);
  CHECK(out.warnings.empty());
}

TEST_CASE("process series are uncapped by default; the file or the flag caps them", "[config]") {
  CHECK(load({}).config.exporter.prometheus.max_process_series == 0);
  scratch tmp;
  auto file = tmp.config("exporter:\n  prometheus:\n    maxProcessSeries: 200\n");
  auto out = load({"--config.file=" + file});
  REQUIRE(runs(out));
  CHECK(out.config.exporter.prometheus.max_process_series == 200);
  CHECK(out.warnings.empty());
  CHECK(load({"--config.file=" + file, "--exporter.prometheus.max-process-series=50"})
            .config.exporter.prometheus.max_process_series == 50);
  CHECK_FALSE(runs(load({"--exporter.prometheus.max-process-series=-1"})));
}

TEST_CASE("the page is on by default, off in the file, and must be a boolean", "[config]") {
  CHECK(load({}).config.exporter.ui.enabled);
  scratch tmp;
  auto off = load({"--config.file=" + tmp.config("exporter:\n  ui:\n    enabled: false\n")});
  REQUIRE(runs(off));
  CHECK_FALSE(off.config.exporter.ui.enabled);
  CHECK(off.warnings.empty());
  CHECK(to_yaml(off.config).find("  ui:\n    enabled: false\n") != std::string::npos);
  auto bad = load({"--config.file=" + tmp.config("exporter:\n  ui:\n    enabled: sometimes\n")});
  CHECK(bad.exit_code == 1);
  CHECK(bad.message.find("exporter.ui.enabled") != std::string::npos);
}

TEST_CASE("bpf.enabled is auto by default and only auto, true or false", "[config]") {
  CHECK(load({}).config.bpf.enabled == bpf_mode::automatic);
  scratch tmp;
  auto off = load({"--config.file=" + tmp.config("bpf:\n  enabled: false\n")});
  REQUIRE(runs(off));
  CHECK(off.config.bpf.enabled == bpf_mode::off);
  auto bad = load({"--config.file=" + tmp.config("bpf:\n  enabled: maybe\n")});
  CHECK(bad.exit_code == 1);
  CHECK(bad.message.find("bpf.enabled \"maybe\" is not one of auto, true, false") != std::string::npos);
}

TEST_CASE("bpf.runTimeStats is on by default and must be a boolean", "[config]") {
  CHECK(load({}).config.bpf.run_time_stats);
  scratch tmp;
  auto off = load({"--config.file=" + tmp.config("bpf:\n  runTimeStats: false\n")});
  REQUIRE(runs(off));
  CHECK_FALSE(off.config.bpf.run_time_stats);
  auto bad = load({"--config.file=" + tmp.config("bpf:\n  runTimeStats: sometimes\n")});
  CHECK(bad.exit_code == 1);
  CHECK(bad.message.find("bpf.runTimeStats") != std::string::npos);
}

TEST_CASE("the pod informer defaults to the kubelet and its settings are read and checked", "[config]") {
  auto defaults = load({}).config.kube;
  CHECK(defaults.pod_informer.mode == pod_informer_mode::kubelet);
  CHECK(defaults.pod_informer.poll_interval == 15s);
  CHECK(defaults.kubelet.endpoint.empty());
  CHECK(defaults.kubelet.token_file == "/var/run/secrets/kubernetes.io/serviceaccount/token");
  CHECK(defaults.kubelet.ca_file == "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt");
  CHECK_FALSE(defaults.kubelet.insecure_skip_verify);

  scratch tmp;
  auto file = tmp.config(
      "kube:\n  enabled: true\n  nodeName: n1\n  podInformer:\n    mode: apiserver\n    pollInterval: 2s\n"
      "    maxResponseBytes: 1048576\n  kubelet:\n    endpoint: https://10.0.0.1:10250\n"
      "    tokenFile: /t\n    caFile: /c\n    insecureSkipVerify: true\n");
  auto out = load({"--config.file=" + file});
  REQUIRE(runs(out));
  CHECK(out.warnings.empty());
  const auto& kube = out.config.kube;
  CHECK(kube.pod_informer.mode == pod_informer_mode::apiserver);
  CHECK(kube.pod_informer.poll_interval == 2s);
  CHECK(kube.pod_informer.max_response_bytes == 1048576);
  CHECK(kube.kubelet.endpoint == "https://10.0.0.1:10250");
  CHECK(kube.kubelet.token_file == "/t");
  CHECK(kube.kubelet.ca_file == "/c");
  CHECK(kube.kubelet.insecure_skip_verify);

  auto bad = load(
      {"--config.file=" +
       tmp.config("kube:\n  enabled: true\n  nodeName: n1\n  podInformer:\n    mode: informer\n    pollInterval: 0s\n"
                  "  kubelet:\n    endpoint: 10.0.0.1:10250\n")});
  CHECK(bad.exit_code == 1);
  CHECK_THAT(bad.message, Catch::Contains("kube.podInformer.mode \"informer\" is not one of kubelet, apiserver"));
  CHECK_THAT(bad.message, Catch::Contains("kube.podInformer.pollInterval must be > 0"));
  CHECK_THAT(bad.message,
             Catch::Contains("kube.kubelet.endpoint \"10.0.0.1:10250\" must start with https:// or http://"));
}

TEST_CASE("only typed flags override the file and a flag's default never does", "[config]") {
  scratch tmp;
  auto file = tmp.config(
      "log:\n  level: debug\nmonitor:\n  interval: 10s\n  maxTerminated: 7\n"
      "exporter:\n  prometheus:\n    enabled: false\n    metricsLevel: pod\n"
      "web:\n  listenAddresses: [':9000']\n");
  auto out = load({"--config.file", file, "--log.format=json", "--monitor.max-terminated=3"});
  REQUIRE(runs(out));
  CHECK(out.config.log.format == log_format::json);
  CHECK(out.config.monitor.max_terminated == 3);
  CHECK(out.config.log.level == log_level::debug);
  CHECK(out.config.monitor.interval == 10s);
  CHECK_FALSE(out.config.exporter.prometheus.enabled);
  CHECK(out.config.exporter.prometheus.metrics_level == level_pod);
  CHECK(out.config.web.listen_addresses == strings{":9000"});
  CHECK(out.config.host.sysfs == tmp.path("sys"));

  auto typed = load({"--config.file", file, "--log.level=warn", "--monitor.interval=0"});
  REQUIRE(runs(typed));
  CHECK(typed.config.log.level == log_level::warn);
  CHECK(typed.config.monitor.interval == 0s);
}

TEST_CASE("a list in the file replaces the default list entirely", "[config]") {
  scratch tmp;
  auto file = tmp.config(
      "rapl:\n  zones: [package]\nweb:\n  listenAddresses: [':9000', '[::1]:9001']\n"
      "exporter:\n  prometheus:\n    debugCollectors: []\n"
      "cpu:\n  preferredMeters: [fake]\n");
  auto out = load({"--config.file=" + file});
  REQUIRE(runs(out));
  CHECK(out.config.rapl.zones == strings{"package"});
  CHECK(out.config.web.listen_addresses == strings{":9000", "[::1]:9001"});
  CHECK(out.config.exporter.prometheus.debug_collectors.empty());
  CHECK(out.config.cpu.preferred_meters == std::vector{meter_kind::fake});
}

TEST_CASE("repeated --web.listen-address replaces the whole list", "[config]") {
  scratch tmp;
  auto file = tmp.config("web:\n  listenAddresses: [':9000', ':9001', ':9002']\n");
  auto out = load({"--config.file=" + file, "--web.listen-address=:8000", "--web.listen-address", "127.0.0.1:8001"});
  REQUIRE(runs(out));
  CHECK(out.config.web.listen_addresses == strings{":8000", "127.0.0.1:8001"});
}

TEST_CASE("the --metrics flag takes one level per occurrence with Kepler's accumulator", "[config]") {
  SECTION("two occurrences combine") {
    auto out = load({"--metrics=node", "--metrics", "Pod"});
    REQUIRE(runs(out));
    CHECK(out.config.exporter.prometheus.metrics_level == (level_node | level_pod));
  }
  SECTION("a comma list in one value is rejected") {
    auto out = load({"--metrics=node,pod"});
    REQUIRE(fails(out));
    CHECK_THAT(out.message, Catch::StartsWith("kepler: error:"));
  }
  SECTION("two values after one flag are rejected") { CHECK(fails(load({"--metrics", "node", "pod"}))); }
  SECTION("an unknown level is rejected") { CHECK(fails(load({"--metrics=gpu"}))); }
  SECTION("all five levels and then a sixth resets the accumulator") {
    auto out = load({"--metrics=node", "--metrics=process", "--metrics=container", "--metrics=vm", "--metrics=pod",
                     "--metrics=process"});
    REQUIRE(runs(out));
    CHECK(out.config.exporter.prometheus.metrics_level == level_process);
  }
}

TEST_CASE("boolean flags accept --x and --no-x and --x=true|false", "[config]") {
  scratch tmp;
  auto file = tmp.config("debug:\n  pprof:\n    enabled: true\n");
  auto out =
      load({"--config.file=" + file, "--debug.pprof=false", "--no-exporter.prometheus", "--exporter.stdout=true"});
  REQUIRE(runs(out));
  CHECK_FALSE(out.config.debug.pprof_enabled);
  CHECK_FALSE(out.config.exporter.prometheus.enabled);
  CHECK(out.config.exporter.stdout_exporter.enabled);

  auto plain = load({"--debug.pprof", "--exporter.prometheus=false", "--exporter.prometheus"});
  REQUIRE(runs(plain));
  CHECK(plain.config.debug.pprof_enabled);
  CHECK(plain.config.exporter.prometheus.enabled);

  auto last_wins = load({"--debug.pprof", "--no-debug.pprof"});
  REQUIRE(runs(last_wins));
  CHECK_FALSE(last_wins.config.debug.pprof_enabled);

  CHECK(fails(load({"--debug.pprof=maybe"})));
}

TEST_CASE("every validation error is reported together in one message", "[config]") {
  auto out = load({"--log.level=verbose", "--log.format=xml", "--host.sysfs=/nope", "--web.listen-address=:99999",
                   "--monitor.interval=-1s", "--kube.enable"});
  REQUIRE(fails(out));
  CHECK_THAT(out.message, Catch::StartsWith("invalid configuration: "));
  for (const char* part :
       {"log.level \"verbose\" is not one of debug, info, warn, error", "log.format \"xml\" is not one of text, json",
        "host.sysfs \"/nope\" is not a readable directory", "web.listenAddresses \":99999\": port must be 1..65535",
        "monitor.interval must be ≥ 0", "kube.node-name not supplied but kube.enable set to true"})
    CHECK_THAT(out.message, Catch::Contains(part));
}

TEST_CASE("the file is validated on its own before flags apply", "[config]") {
  scratch tmp;
  auto file = tmp.write("kepler.yaml", "host:\n  sysfs: /nope\n");
  auto out = load({"--config.file=" + file, "--host.sysfs=" + tmp.path("sys")});
  REQUIRE(fails(out));
  CHECK_THAT(out.message, Catch::Contains("host.sysfs \"/nope\" is not a readable directory"));
}

TEST_CASE("file-only settings are validated", "[config]") {
  scratch tmp;
  auto file = tmp.config(
      "monitor:\n  staleness: -1s\n  minTerminatedEnergyThreshold: -3\n"
      "exporter:\n  prometheus:\n    debugCollectors: [go, gc]\n"
      "cpu:\n  preferredMeters: [rapl, nvml]\n"
      "msr:\n  devicePath: /dev/cpu/0/msr\n"
      "rapl:\n  maxPlausibleWatts: 0\n"
      "dev:\n  fake-cpu-meter:\n    idleWatts: 20\n    maxWatts: 10\n"
      "web:\n  configFile: " +
      tmp.path("missing.yml") +
      "\n"
      "kube:\n  enabled: true\n  nodeName: n1\n  config: " +
      tmp.path("missing.kubeconfig") + "\n");
  auto out = load({"--config.file=" + file});
  REQUIRE(fails(out));
  for (const char* part : {"monitor.staleness must be ≥ 0", "monitor.minTerminatedEnergyThreshold must be ≥ 0",
                           "exporter.prometheus.debugCollectors \"gc\" is not one of go, process",
                           "cpu.preferredMeters \"nvml\" is not one of rapl, msr, hwmon, fake, estimate",
                           "msr.devicePath \"/dev/cpu/0/msr\" must hold %d for the CPU number",
                           "dev.fake-cpu-meter.maxWatts must be ≥ dev.fake-cpu-meter.idleWatts",
                           "rapl.maxPlausibleWatts must be > 0", "web.configFile", "kube.config"})
    CHECK_THAT(out.message, Catch::Contains(part));
}

TEST_CASE("listen addresses follow host:port with IPv6 in brackets", "[config]") {
  auto problems = [](std::vector<std::string> addresses) {
    kepler_config c;
    c.web.listen_addresses = std::move(addresses);
    return validate(c);
  };
  CHECK(problems({":28282", "0.0.0.0:1", "[::1]:65535", "[::]:80", "localhost:8080"}).empty());
  CHECK(problems({"::1:80"}).size() == 1);
  CHECK(problems({"localhost"}).size() == 1);
  CHECK(problems({":0"}).size() == 1);
  CHECK(problems({":http"}).size() == 1);
  CHECK(problems({""}).size() == 1);
  CHECK(problems({}).size() == 1);
}

TEST_CASE("unknown keys warn once each and do not fail", "[config]") {
  scratch tmp;
  auto file = tmp.config(
      "monitor:\n  intervall: 3s\n  interval: 3s\nfoo:\n  bar: 1\n"
      "experimental:\n  gpu:\n    enabled: true\n");
  auto out = load({"--config.file=" + file});
  REQUIRE(runs(out));
  CHECK(out.config.monitor.interval == 3s);
  CHECK(out.warnings == strings{"unknown configuration key \"monitor.intervall\"", "unknown configuration key \"foo\"",
                                "unknown configuration key \"experimental.gpu\""});
}

TEST_CASE("the --help flag lists every flag with its description", "[config]") {
  auto out = load({"--help"});
  CHECK(out.next == config_outcome::action::exit);
  CHECK(out.exit_code == 0);
  for (const char* flag : {"--config.file",
                           "--log.level",
                           "--log.format",
                           "--host.sysfs",
                           "--host.procfs",
                           "--monitor.interval",
                           "--monitor.max-terminated",
                           "--debug.pprof",
                           "--web.config-file",
                           "--web.listen-address",
                           "--exporter.stdout",
                           "--exporter.prometheus",
                           "--metrics",
                           "--kube.enable",
                           "--kube.config",
                           "--kube.node-name",
                           "--experimental.platform.redfish.enabled",
                           "--experimental.platform.redfish.node-name",
                           "--experimental.platform.redfish.config-file",
                           "--version",
                           "Logging level"})
    CHECK_THAT(out.message, Catch::Contains(flag));
}

TEST_CASE("the --version flag prints the version and exits 0", "[config]") {
  auto out = load({"--version"});
  CHECK(out.next == config_outcome::action::exit);
  CHECK(out.exit_code == 0);
  CHECK_THAT(out.message, Catch::StartsWith("kepler version "));
  CHECK(out.message == version_text());
}

TEST_CASE("an unknown flag is a syntax error with exit 1", "[config]") {
  auto out = load({"--monitor.intervall=5s"});
  REQUIRE(fails(out));
  CHECK_THAT(out.message, Catch::StartsWith("kepler: error:"));
  CHECK(fails(load({"--kube.config=/no/such/kubeconfig"})));
}

TEST_CASE("strings from the file and flags are trimmed", "[config]") {
  scratch tmp;
  auto file = tmp.config(
      "log:\n  level: '  debug '\nweb:\n  listenAddresses: [' :9000 ']\n"
      "rapl:\n  zones: [' package ']\nexporter:\n  prometheus:\n    metricsLevel: ' Node '\n");
  auto out = load({"--config.file=" + file, "--host.procfs= " + tmp.path("proc") + " "});
  REQUIRE(runs(out));
  CHECK(out.config.log.level == log_level::debug);
  CHECK(out.config.web.listen_addresses == strings{":9000"});
  CHECK(out.config.rapl.zones == strings{"package"});
  CHECK(out.config.host.procfs == tmp.path("proc"));
  CHECK(out.config.exporter.prometheus.metrics_level == level_node);
}

TEST_CASE("Go durations parse and print canonically", "[config]") {
  auto parsed = [](const char* text) {
    auto d = parse_duration(text);
    REQUIRE(d.ok());
    return d.value();
  };
  CHECK(parsed("5s") == 5s);
  CHECK(parsed("500ms") == 500ms);
  CHECK(parsed("1m30s") == 90s);
  CHECK(parsed("1.5s") == 1500ms);
  CHECK(parsed("1h2m3.5s") == 1h + 2min + 3500ms);
  CHECK(parsed("2us") == 2us);
  CHECK(parsed("2µs") == 2us);
  CHECK(parsed("7ns") == 7ns);
  CHECK(parsed("-1.5h") == -90min);
  CHECK(parsed("0") == 0s);
  CHECK(parsed(".5s") == 500ms);
  for (const char* bad : {"", "5", "s", "5 s", "5x", "1.s.", ".s", "-", "9999999999h", "1s2"})
    CHECK_FALSE(parse_duration(bad).ok());

  CHECK(format_duration(0s) == "0s");
  CHECK(format_duration(5s) == "5s");
  CHECK(format_duration(500ms) == "500ms");
  CHECK(format_duration(1500us) == "1.5ms");
  CHECK(format_duration(2us) == "2µs");
  CHECK(format_duration(7ns) == "7ns");
  CHECK(format_duration(90s) == "1m30s");
  CHECK(format_duration(1h) == "1h0m0s");
  CHECK(format_duration(1500ms) == "1.5s");
  CHECK(format_duration(-90s) == "-1m30s");
}

TEST_CASE("bad durations and wrong types name the key and line", "[config]") {
  scratch tmp;
  auto out = load({"--config.file=" + tmp.config("monitor:\n  interval: 5 sec\n"
                                                 "  maxTerminated: lots\n")});
  REQUIRE(fails(out));
  CHECK_THAT(out.message, Catch::Contains("monitor.interval \"5 sec\" is not a duration (line 5)"));
  CHECK_THAT(out.message, Catch::Contains("monitor.maxTerminated \"lots\" is not an integer (line 6)"));

  auto flag = load({"--monitor.interval=5 sec"});
  REQUIRE(fails(flag));
  CHECK_THAT(flag.message, Catch::StartsWith("kepler: error:"));

  auto shape = load({"--config.file=" + tmp.config("log: verbose\nrapl:\n  zones: package\n")});
  REQUIRE(fails(shape));
  CHECK_THAT(shape.message, Catch::Contains("log: expected a mapping (line 4)"));
  CHECK_THAT(shape.message, Catch::Contains("rapl.zones: expected a list (line 6)"));
}

TEST_CASE("a YAML syntax error names the line", "[config]") {
  scratch tmp;
  auto out = load({"--config.file=" + tmp.config("log:\n  level: [debug\n")});
  REQUIRE(fails(out));
  CHECK_THAT(out.message, Catch::Contains("line "));
  CHECK(fails(load({"--config.file=" + tmp.path("missing.yaml")})));
}

TEST_CASE("metricsLevel is a name or a list and an empty list means all", "[config]") {
  scratch tmp;
  auto level_of = [&](const std::string& value) {
    auto out = load({"--config.file=" + tmp.config("exporter:\n  prometheus:\n    metricsLevel: " + value + "\n")});
    INFO(out.message);
    REQUIRE(runs(out));
    return out.config.exporter.prometheus.metrics_level;
  };
  CHECK(level_of("POD") == level_pod);
  CHECK(level_of("[node, vm]") == (level_node | level_vm));
  CHECK(level_of("[]") == level_all);
  CHECK(fails(load({"--config.file=" + tmp.config("exporter:\n  prometheus:\n    metricsLevel: [node, gpu]\n")})));
}

TEST_CASE("to_yaml prints Kepler's keys and round-trips through load", "[config]") {
  scratch tmp;
  auto file = tmp.config(
      "log:\n  level: debug\nmonitor:\n  interval: 1500ms\n  maxTerminated: -1\n"
      "rapl:\n  zones: [package, dram]\nexporter:\n  prometheus:\n    metricsLevel: [node, pod]\n"
      "web:\n  listenAddresses: [':9000', '[::1]:9001']\n"
      "kube:\n  enabled: true\n  nodeName: worker-1\n"
      "dev:\n  fake-cpu-meter:\n    enabled: true\n    idleWatts: 2.5\n");
  auto first = load({"--config.file=" + file, "--metrics=vm", "--debug.pprof"});
  REQUIRE(runs(first));
  auto printed = to_yaml(first.config);
  CHECK_THAT(printed, Catch::Contains("metricsLevel: vm"));
  CHECK_THAT(printed, Catch::Contains("interval: 1.5s"));
  CHECK_THAT(printed, Catch::Contains("maxTerminated: -1"));
  CHECK_THAT(printed, Catch::Contains("preferredMeters:"));
  CHECK_THAT(printed, Catch::Contains("fake-cpu-meter:"));

  auto second = load({"--config.file=" + tmp.write("printed.yaml", printed)});
  REQUIRE(runs(second));
  CHECK(second.warnings.empty());
  CHECK(to_yaml(second.config) == printed);
  CHECK(second.config.monitor.interval == 1500ms);
  CHECK(second.config.exporter.prometheus.metrics_level == level_vm);
  CHECK(second.config.web.listen_addresses == strings{":9000", "[::1]:9001"});
  CHECK(second.config.debug.pprof_enabled);
  CHECK(second.config.fake_cpu_meter.idle_watts == 2.5);

  CHECK_THAT(to_yaml(kepler_config{}), Catch::Contains("- container"));
}
