#include "actors/daemon.hpp"

#include <algorithm>
#include <atomic>
#include <csignal>
#include <cstdlib>
#include <thread>

#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include "actors/cpu_time_actor.hpp"
#include "actors/ebpf_cpu_time_actor.hpp"
#include "actors/energy_sampler_actor.hpp"
#include "actors/engine_supervisor.hpp"
#include "actors/http_server_actor.hpp"
#include "actors/logging.hpp"
#include "actors/platform_poller_actor.hpp"
#include "actors/pod_watcher_actor.hpp"
#include "actors/source_supervisor.hpp"
#include "actors/stdout_exporter_actor.hpp"
#include "base/clock.hpp"
#include "base/descriptor_budget.hpp"
#include "base/log_limiter.hpp"
#include "bpf/cpu_time_source.hpp"
#include "http/web_config.hpp"
#include "http/web_security.hpp"
#include "sensors/platform/platform_source.hpp"
#include "sensors/power/power_meter.hpp"
#include "sensors/proc/kept_file.hpp"
#include "sensors/proc/procfs.hpp"

namespace kepler {
namespace {

std::string host_name() {
  char host[256] = {};
  return gethostname(host, sizeof host - 1) == 0 ? host : "";
}

std::string node_name_for(const kepler_config& config) {
  if (!config.kube.node_name.empty()) return config.kube.node_name;
  return host_name();
}

render_context make_render_context(const kepler_config& config, const power_meter& meter,
                                   const platform_source& platform) {
  render_context ctx;
  ctx.node_name = node_name_for(config);
  ctx.platform_source = platform.source;
  ctx.platform_workloads = config.platform.attribute_workloads;
  ctx.metrics_level = config.exporter.prometheus.metrics_level;
  ctx.legacy_metrics = config.exporter.prometheus.legacy_metrics;
  ctx.power_source = meter.source;
  for (const auto& zone : meter.zones)
    ctx.zone_sources.push_back(zone_source_info{meter.source, zone.label,
                                                std::string(to_string(zone.provenance.method)), zone.provenance.model,
                                                zone.provenance.parameters});
  ctx.version = KEPLER_VERSION;
  ctx.revision = KEPLER_REVISION;
  ctx.branch = KEPLER_BRANCH;
  utsname uts{};
  std::string machine = uname(&uts) == 0 ? uts.machine : "";
  ctx.arch = machine == "x86_64" ? "amd64" : machine == "aarch64" ? "arm64" : machine;
#ifdef __clang__
  ctx.compiler = "clang-" + std::to_string(__clang_major__) + "." + std::to_string(__clang_minor__) + "." +
                 std::to_string(__clang_patchlevel__);
#else
  ctx.compiler = "gcc-" __VERSION__;
#endif
  if (auto cpuinfo = read_text_file(config.host.procfs + "/cpuinfo")) ctx.cpus = parse_cpuinfo(cpuinfo.value());
  return ctx;
}

/// The page's settings: exporter.ui.enabled, and what the summary says beside each snapshot.
ui_settings make_ui_settings(const kepler_config& config, const power_meter& meter, caf::timespan interval) {
  ui_settings ui;
  ui.enabled = config.exporter.ui.enabled;
  ui.summary.node_name = node_name_for(config);
  ui.summary.version = KEPLER_VERSION;
  ui.summary.interval_seconds = std::chrono::duration<double>(interval).count();
  ui.summary.meters = provenance_of(meter);
  ui.page.metrics_link = config.exporter.prometheus.enabled;
  return ui;
}

energy_source spawn_energy_source(caf::actor_system& system, const zone_source& zone, const std::string& source,
                                  caf::timespan interval, const std::shared_ptr<actor_stats>& stats) {
  std::string name = source + "_sampler:" + zone.label;
  // Fast enough to see every wrap at the plausible power (which also bounds each reading), and
  // as often as a zone of power readings asks.
  auto period = sampler_poll_period(zone.zone.max_energy_uj, zone.zone.max_plausible_watts, interval);
  if (zone.zone.sample_period.count() > 0) period = std::min<caf::timespan>(period, zone.zone.sample_period);
  supervisor_config<energy_reading> sup;
  sup.name = name;
  sup.stats = stats;
  // Two intervals unanswered: the zone is down already (deadline); try one fresh reader.
  sup.stuck_after = 2 * interval;
  sup.spawn_child = [zone, period, stats, name, source](caf::local_actor* parent, uint64_t generation) {
    energy_sampler_config cfg{zone.zone.path,
                              zone.make_reader(),
                              zone.zone.max_energy_uj,
                              zone.zone.max_plausible_watts,
                              generation,
                              period,
                              stats,
                              name,
                              source,
                              zone.label};
    return energy_source_actor{parent->spawn<caf::detached>(energy_sampler, std::move(cfg))};
  };
  auto handle = system.spawn(source_supervisor<energy_reading>, std::move(sup));
  return energy_source{energy_source_actor{handle}, source, zone.label};
}

/// Loads the eBPF probe unless bpf.enabled says not to; null when CPU time comes from /proc.
/// With bpf.enabled: true a failure is fatal (the error says why).
result<std::shared_ptr<cpu_time_probe>> load_bpf_probe(const kepler_config& config) {
  std::shared_ptr<cpu_time_probe> probe;
  result<void> loaded = make_error(errc::unavailable, "not loaded");
  if (wants_probe(config.bpf.enabled)) {
    set_bpf_log_callback([](bpf_log_level level, std::string_view line) {
      if (level == bpf_log_level::warn) spdlog::debug("libbpf: {}", line);
    });
    probe_options options;
    options.run_time_stats = config.bpf.run_time_stats;
    if (auto attempt = cpu_time_probe::load(options)) {
      probe = std::move(attempt).value();
      loaded = {};
    } else {
      loaded = attempt.error();
    }
  }
  auto choice = choose_cpu_time_source(config.bpf.enabled, loaded);
  if (choice.fatal) return make_error(errc::config, choice.message);
  if (!choice.message.empty()) {
    if (choice.warning) spdlog::warn("{}", choice.message);
    else spdlog::info("{}", choice.message);
  }
  if (!choice.use_probe) return std::shared_ptr<cpu_time_probe>();
  spdlog::info("CPU time from eBPF ({} on sched_switch)", to_string(probe->mode()));
  if (!config.bpf.run_time_stats) spdlog::info("bpf.runTimeStats is false: kepler_bpf_program_* are not exported");
  else if (!probe->stats_enabled())
    spdlog::info(
        "eBPF run-time statistics unavailable (they need CAP_SYS_ADMIN): "
        "kepler_bpf_program_* are not exported");
  return probe;
}

cpu_source_actor spawn_cpu_source(caf::actor_system& system, const kepler_config& config,
                                  std::shared_ptr<cpu_time_probe> probe, const std::shared_ptr<actor_stats>& stats) {
  supervisor_config<cpu_sample> sup;
  sup.name = "cpu_time";
  sup.stats = stats;
  std::string procfs = config.host.procfs, sysfs = config.host.sysfs;
  auto from_procfs = [procfs, stats](caf::local_actor* parent, uint64_t) {
    return cpu_source_actor{parent->spawn<caf::detached>(procfs_cpu_time, procfs, stats)};
  };
  if (probe) {
    sup.spawn_child = [probe, procfs, sysfs, stats](caf::local_actor* parent, uint64_t) {
      return cpu_source_actor{parent->spawn<caf::detached>(ebpf_cpu_time, probe, procfs, sysfs, stats)};
    };
    sup.spawn_fallback = from_procfs;
  } else {
    sup.spawn_child = from_procfs;
  }
  return cpu_source_actor{system.spawn(source_supervisor<cpu_sample>, std::move(sup))};
}

/// The engine's interval; v0.11's 0 (refresh on scrape) becomes 5 s (docs/compatibility.md difference #4).
caf::timespan engine_interval(const kepler_config& config) {
  auto interval = std::chrono::duration_cast<caf::timespan>(config.monitor.interval);
  if (interval.count() != 0) return interval;
  spdlog::warn("monitor.interval 0 (refresh on scrape) is not supported; refreshing every 5s");
  return std::chrono::seconds(5);
}

/// Spawns every source, the engine and the exporters; returns the actors to stop at the end.
std::vector<caf::actor> spawn_pipeline(caf::actor_system& system, const kepler_config& config, const power_meter& meter,
                                       const platform_source& platform, std::shared_ptr<cpu_time_probe> probe,
                                       std::shared_ptr<metrics_server> http_endpoint,
                                       const std::shared_ptr<actor_stats>& stats,
                                       const std::shared_ptr<std::atomic<bool>>& stopping) {
  auto interval = engine_interval(config);
  std::vector<caf::actor> roots;
  engine_config engine;
  for (const auto& zone : meter.zones) {
    engine.zones.push_back(zone.zone);
    engine.energy_sources.push_back(spawn_energy_source(system, zone, meter.source, interval, stats));
    roots.push_back(caf::actor_cast<caf::actor>(engine.energy_sources.back().handle));
  }
  if (platform.zone) {
    engine.zones.push_back(platform.zone->zone);
    engine.energy_sources.push_back(spawn_energy_source(system, *platform.zone, platform.source, interval, stats));
    roots.push_back(caf::actor_cast<caf::actor>(engine.energy_sources.back().handle));
  }
  if (platform.bmc) {
    engine.platform_feeds.push_back(platform.feed);
    const auto& redfish = config.platform.redfish;
    platform_poller_config poller{*platform.bmc,
                                  std::chrono::duration_cast<std::chrono::milliseconds>(redfish.http_timeout),
                                  std::chrono::duration_cast<std::chrono::milliseconds>(redfish.poll_interval),
                                  platform.feed, stopping};
    roots.push_back(system.spawn<caf::detached>(platform_poller, std::move(poller)));
  }
  engine.cpu_source = spawn_cpu_source(system, config, std::move(probe), stats);
  roots.push_back(caf::actor_cast<caf::actor>(engine.cpu_source));
  engine.sinks.push_back(system.spawn(http_server, std::move(http_endpoint),
                                      make_render_context(config, meter, platform), stats,
                                      make_ui_settings(config, meter, interval)));
  if (config.exporter.stdout_exporter.enabled)
    engine.sinks.push_back(system.spawn<caf::detached>(stdout_exporter, stdout));
  for (const auto& sink : engine.sinks) roots.push_back(caf::actor_cast<caf::actor>(sink));
  engine.interval = interval;
  engine.deadline = interval * 4 / 5;
  engine.terminated =
      terminated_policy{config.monitor.max_terminated,
                        static_cast<uint64_t>(config.monitor.min_terminated_energy_threshold) * 1'000'000,
                        config.monitor.terminated_retention.count()};
  engine.max_process_series = static_cast<std::size_t>(config.exporter.prometheus.max_process_series);
  engine.stats = stats;
  engine.procfs_root = config.host.procfs;
  auto engine_handle = system.spawn(engine_supervisor, std::move(engine));
  roots.push_back(caf::actor_cast<caf::actor>(engine_handle));
  if (config.kube.enabled) {
    pod_watcher_config watcher;
    watcher.settings = kube_settings_from(config);
    watcher.engine = engine_handle;
    watcher.stopping = stopping;
    roots.push_back(system.spawn<caf::detached>(pod_watcher, std::move(watcher)));
  }
  spdlog::info("Starting Kepler: {} zone(s) from {}, interval {} ms", meter.zones.size(),
               meter.source.empty() ? "no meter" : meter.source,
               std::chrono::duration_cast<std::chrono::milliseconds>(interval).count());
  return roots;
}

/// Counts every connection the metrics server drops by reason, and logs each reason at most
/// once a minute (a flood of broken clients must not flood the log). Connections closed at the
/// connection limit are logged per episode instead (see on_connection_limit).
drop_observer http_drop_observer(const std::shared_ptr<actor_stats>& stats) {
  for (auto reason : enum_texts(http_drop{})) stats->add_http_drop_reason(reason);
  auto limiter = std::make_shared<log_limiter>(std::chrono::minutes(1));
  return [stats, limiter](http_drop reason, const std::string& detail) {
    stats->add_http_drop(to_string(reason));
    if (at_connection_limit(reason)) return;
    auto held_back = limiter->admit(to_string(reason), monotonic_now_ns());
    if (!held_back) return;
    spdlog::warn("metrics server dropped a connection ({}): {}{}", to_string(reason), detail,
                 *held_back ? fmt::format(" ({} more since the last line about it)", *held_back) : std::string());
  };
}

/// The soft RLIMIT_NOFILE after raising it as the procfs scanner does (to the hard limit, at
/// most 2^20; many init systems leave the soft one at 1,024): what the connection limit and
/// the scanner's kept files are shared from.
std::uint64_t raised_file_limit() {
  raise_open_file_limit();
  rlimit files{};
  if (::getrlimit(RLIMIT_NOFILE, &files) != 0) return 1024;
  return std::min<std::uint64_t>(files.rlim_cur, wanted_file_descriptors);
}

/// An invalid web config stops the daemon before anything starts (exit 1).
result<void> check_web_config(const std::string& path) {
  if (path.empty()) return {};
  auto web = load_web_config(path);
  if (!web) return web.error();
  auto security = make_web_security(web.value());
  if (!security) return security.error();
  return {};
}

void wait_for_stop_signal() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  int received = 0;
  sigwait(&signals, &received);
  spdlog::info("received {}, shutting down", received == SIGINT ? "SIGINT" : "SIGTERM");
}

/// A sensor read that hangs must not turn a stop into a hang: exit anyway after a grace
/// period, with code 1 because the stop was not graceful.
void arm_shutdown_watchdog() {
  std::thread([] {
    std::this_thread::sleep_for(std::chrono::seconds(4));
    spdlog::error("shutdown took longer than 4 s (a sensor read hangs?); exiting without waiting");
    std::_Exit(1);
  }).detach();
}

}  // namespace

int run_daemon(const kepler_config& config) {
  if (auto web = check_web_config(config.web.config_file); !web) {
    spdlog::error("{}", web.error_message());
    return 1;
  }
  auto meter = select_power_meter(config);
  for (const auto& note : meter.notes) write_log(note);
  auto platform = select_platform_source(config, host_name());
  for (const auto& note : platform.notes) write_log(note);

  auto probe = load_bpf_probe(config);
  if (!probe) {
    spdlog::error("{}", probe.error_message());
    return 1;
  }

  auto stats = std::make_shared<actor_stats>();
  metrics_server::options web{config.web.listen_addresses, config.exporter.prometheus.enabled};
  web.web_config_file = config.web.config_file;
  web.ui_enabled = config.exporter.ui.enabled;
  if (web.ui_enabled) web.ui_waiting_page = ui_page(nullptr, {config.exporter.prometheus.enabled});
  web.on_drop = http_drop_observer(stats);
  const auto file_limit = raised_file_limit();
  web.limits.max_connections =
      share_descriptors(file_limit, reserved_file_descriptors, web.limits.max_connections).connections;
  spdlog::info("metrics server: at most {} connections (open files limit {})", web.limits.max_connections, file_limit);
  web.on_connection_limit = [](bool at_limit, const std::string& message) {
    if (at_limit) spdlog::warn("metrics server: {}", message);
    else spdlog::info("metrics server: {}", message);
  };
  web.on_web_config_reload = [](bool ok, const std::string& message) {
    if (ok) spdlog::info("{}", message);
    else spdlog::error("{}", message);
  };
  auto server = metrics_server::start(web);
  if (!server) {
    spdlog::error("{}", server.error_message());
    return 1;
  }
  std::shared_ptr<metrics_server> http_endpoint = std::move(server).value();
  for (const auto& address : config.web.listen_addresses) {
    spdlog::info("Listening on address={}", address);
    spdlog::info(http_endpoint->tls_enabled() ? "TLS is enabled." : "TLS is disabled.");
  }
  if (http_endpoint->auth_enabled() && !http_endpoint->tls_enabled())
    spdlog::warn("web.configFile: basic auth without TLS sends passwords in clear text");

  caf::actor_system_config caf_config;
  caf_config.add_message_types<caf::id_block::kepler>();
  // A handful of messages per interval: workers that wait on a condition variable cost
  // nothing while idle, where work stealing would poll (tens of ms of CPU per second).
  caf_config.set("scheduler.policy", caf::atom("sharing"));
  caf_config.set("scheduler.max-threads", 2);
  {
    caf::actor_system system{caf_config};
    auto stopping = std::make_shared<std::atomic<bool>>(false);
    auto roots = spawn_pipeline(system, config, meter, platform, probe.value(), http_endpoint, stats, stopping);
    wait_for_stop_signal();
    arm_shutdown_watchdog();
    stopping->store(true);  // a pod list request in progress gives up
    for (const auto& actor : roots) caf::anon_send_exit(actor, caf::exit_reason::user_shutdown);
    http_endpoint->stop();
  }  // the actor system waits here for every actor to finish
  spdlog::info("Graceful shutdown completed");
  return 0;
}

}  // namespace kepler
