// The summary behind the page and /api/v1/summary, on snapshots with known numbers.

#include "metrics/summary.hpp"

#include <cmath>
#include <numeric>

#include <catch2/catch.hpp>

#include "test/support/process_info.hpp"

using namespace kepler;
using Catch::Matchers::WithinAbs;

namespace {

// Package watts of twelve processes: they sum to 24 W of the package's 30 W active power, so
// 6 W stay unattributed. Rows 9 and 11 tie at 0.25 W.
const std::vector<double> process_watts{0.5, 3, 1, 4, 2.5, 0, 6, 1.5, 2, 0.25, 3, 0.25};

node_zone_stats zone(const char* name, double watts, double active, uint64_t total_uj, uint64_t active_uj) {
  node_zone_stats z;
  z.name = name;
  z.watts = watts;
  z.active_watts = active;
  z.idle_watts = watts - active;
  z.total_uj = total_uj;
  z.active_uj = active_uj;
  return z;
}

/// A workload of `level` ("container", "pod", "vm") with its id and name in its info.
workload_row workload(const std::string& level, const std::string& id, const std::string& name) {
  auto info = std::make_shared<process_info>();
  const std::string* id_in_info = nullptr;
  if (level == "container") {
    info->container_id = id;
    info->container_name = name;
    info->runtime = "containerd";
    id_in_info = &info->container_id;
  } else if (level == "pod") {
    info->pod_id = id;
    id_in_info = &info->pod_id;
  } else {
    info->vm_id = id;
    info->vm_name = name;
    info->hypervisor = "qemu";
    id_in_info = &info->vm_id;
  }
  return workload_row{info, id_in_info, 0, 0};
}

/// Adds a running row's zone values (dram first, package second, as the snapshot's zones).
void add_values(std::vector<double>& watts, std::vector<uint64_t>& energy, double package_watts) {
  watts.insert(watts.end(), {package_watts / 10, package_watts});
  energy.insert(energy.end(), {1, static_cast<uint64_t>(package_watts * 1e6 * 100)});  // 100 s at that power
}

/// dram before package, so ranking by package is not ranking by the first zone.
snapshot known_snapshot() {
  snapshot snap;
  snap.sequence = 42;
  snap.wall_ns = 1'700'000'000'500'000'000;
  snap.usage_ratio = 0.75;
  snap.zones = {zone("dram", 5, 2, 50'000'000, 20'000'000), zone("package", 40, 30, 4'000'000'000, 3'000'000'000)};
  for (std::size_t i = 0; i < process_watts.size(); ++i) {
    auto info = std::make_shared<process_info>(testing::regular_process("proc-" + std::to_string(i), "/bin/p"));
    if (i == 6) {
      info->type = process_type::container;
      info->container_id = "c-burner";
    }
    snap.running.push_back(process_row{{static_cast<int32_t>(1000 + i), 1}, info, 0, 0, 0});
    add_values(snap.running_watts, snap.running_energy_uj, process_watts[i]);
  }
  // Containers: 6 + 3 + 1 W; pods: 9 W and 1 W; one VM at 2.5 W.
  for (auto [id, name, watts] :
       {std::tuple{"c-burner", "burn", 6.0}, std::tuple{"c-web", "web", 3.0}, std::tuple{"c-bare", "bare", 1.0}}) {
    snap.containers.running.push_back(workload("container", id, name));
    add_values(snap.containers.running_watts, snap.containers.running_energy_uj, watts);
  }
  for (auto [uid, watts] : {std::tuple{"uid-a", 9.0}, std::tuple{"uid-b", 1.0}}) {
    snap.pods.running.push_back(workload("pod", uid, ""));
    add_values(snap.pods.running_watts, snap.pods.running_energy_uj, watts);
  }
  snap.vms.running.push_back(workload("vm", "vm-1", "guest"));
  add_values(snap.vms.running_watts, snap.vms.running_energy_uj, 2.5);
  auto kube = std::make_shared<kube_names>();
  kube->by_container["c-burner"] = pod_ref{"uid-a", "burner-pod", "load", "burner"};
  kube->by_container["c-web"] = pod_ref{"uid-a", "burner-pod", "load", "web"};
  kube->by_pod["uid-a"] = pod_ref{"uid-a", "burner-pod", "load", ""};
  snap.kube = kube;
  snap.kube_source = kube_health{"kubelet", true, 2, 1'700'000'000, {}};
  snap.sources = {{"rapl", "package-0", true, 0, 1'700'000'000}, {"procfs", "", false, 3, 0}};
  snap.actors = {{"cpu_time", 2, 0}, {"engine", 0, 1}};
  snap.http_drops = {{"idle_timeout", 4}, {"read_error", 1}};
  snap.collection_seconds = 0.012;
  snap.cpu_source = "procfs";
  snap.self = self_stats{1.5, 20 << 20, 17, 1'699'999'000};
  return snap;
}

summary_context known_context() {
  summary_context context;
  context.node_name = "node-1";
  context.version = "0.1.0";
  context.interval_seconds = 5;
  context.meters = {{"package", "rapl", meter_method::counter, ""}, {"dram", "rapl", meter_method::counter, ""}};
  return context;
}

double shares(const top_list& list) {
  double sum = list.others_share + list.outside_share;
  for (const auto& entry : list.top) sum += entry.share;
  return sum;
}

}  // namespace

TEST_CASE("top_rows: the n largest of one zone, largest first, ties in row order, NaN last", "[metrics][summary]") {
  // Two zones per row: zone 0 is 1, 5, 5, NaN, 9 and zone 1 is 10, 50, 20, 200, 40.
  const std::vector<double> watts{1, 10, 5, 50, 5, 20, NAN, 200, 9, 40};
  CHECK(top_rows(watts, 2, 0, 3) == std::vector<std::size_t>{4, 1, 2});
  CHECK(top_rows(watts, 2, 0, 10) == std::vector<std::size_t>{4, 1, 2, 0, 3});
  CHECK(top_rows(watts, 2, 1, 2) == std::vector<std::size_t>{3, 1});
  CHECK(top_rows(watts, 2, 1, 10) == std::vector<std::size_t>{3, 1, 4, 2, 0});
  CHECK(top_rows(watts, 2, 0, 0).empty());
  CHECK(top_rows(watts, 0, 0, 3).empty());
  CHECK(top_rows(watts, 2, 2, 3).empty());  // no such zone
  CHECK(top_rows({}, 2, 0, 3).empty());
  const std::vector<double> tied{3, 3, 3, 3};
  CHECK(top_rows(tied, 1, 0, 2) == std::vector<std::size_t>{0, 1});
}

TEST_CASE("top_rows agrees with a full sort on many rows", "[metrics][summary]") {
  std::vector<double> watts;
  for (int i = 0; i < 5000; ++i) watts.push_back(static_cast<double>((i * 7919) % 1013) / 7.0);
  std::vector<std::size_t> all(watts.size());
  std::iota(all.begin(), all.end(), 0);
  std::stable_sort(all.begin(), all.end(), [&](auto a, auto b) { return watts[a] > watts[b]; });
  all.resize(25);
  CHECK(top_rows(watts, 1, 0, 25) == all);
}

TEST_CASE("the summary ranks every level by the package zone, with shares of its active power", "[metrics][summary]") {
  const auto snap = known_snapshot();
  const auto s = make_summary(snap, known_context());
  CHECK(s.ranked_zone == "package");
  CHECK(s.node_name == "node-1");
  CHECK(s.sequence == 42);
  CHECK_THAT(s.time, WithinAbs(1'700'000'000.5, 1e-6));

  const auto& p = s.processes;
  CHECK(p.count == 12);
  REQUIRE(p.top.size() == summary_top_n);
  std::vector<std::string> pids;
  for (const auto& entry : p.top) pids.push_back(entry.id);
  CHECK(pids ==
        std::vector<std::string>{"1006", "1003", "1001", "1010", "1004", "1008", "1007", "1002", "1000", "1009"});
  CHECK(p.top[0].name == "proc-6");
  CHECK(p.top[0].kind == "container");
  CHECK(p.top[0].pod == "burner-pod");
  CHECK(p.top[0].ns == "load");
  CHECK(p.top[0].watts == 6);
  CHECK_THAT(p.top[0].share, WithinAbs(0.2, 1e-12));
  CHECK_THAT(p.top[0].joules, WithinAbs(600, 1e-9));
  CHECK(p.top[1].kind == "regular");
  CHECK(p.top[1].pod.empty());
  CHECK(p.others_count == 2);
  CHECK_THAT(p.others_watts, WithinAbs(0.25, 1e-12));
  CHECK_THAT(p.outside_watts, WithinAbs(6, 1e-12));  // unattributed
  CHECK_THAT(shares(p), WithinAbs(1, 1e-12));

  const auto& c = s.containers;
  REQUIRE(c.top.size() == 3);
  CHECK(c.top[0].id == "c-burner");
  CHECK(c.top[0].name == "burner");  // Kubernetes' container name over the runtime's
  CHECK(c.top[0].pod == "burner-pod");
  CHECK(c.top[0].kind == "containerd");
  CHECK(c.top[2].name == "bare");  // not in a pod: the runtime's name
  CHECK(c.top[2].pod.empty());
  CHECK(c.others_count == 0);
  CHECK_THAT(c.outside_watts, WithinAbs(20, 1e-12));  // processes outside containers + unattributed
  CHECK_THAT(shares(c), WithinAbs(1, 1e-12));

  REQUIRE(s.pods.top.size() == 2);
  CHECK(s.pods.top[0].name == "burner-pod");
  CHECK(s.pods.top[0].ns == "load");
  CHECK(s.pods.top[1].id == "uid-b");
  CHECK(s.pods.top[1].name.empty());  // not listed by Kubernetes
  CHECK_THAT(shares(s.pods), WithinAbs(1, 1e-12));
  REQUIRE(s.vms.top.size() == 1);
  CHECK(s.vms.top[0].name == "guest");
  CHECK(s.vms.top[0].kind == "qemu");
  CHECK_THAT(shares(s.vms), WithinAbs(1, 1e-12));
}

TEST_CASE("the summary carries zones with their meters, provenance and the exporter's health", "[metrics][summary]") {
  auto context = known_context();
  context.meters = {{"package", "fake-cpu-meter", meter_method::estimate, "1 × (10 W + 50 W × CPU usage)"}};
  const auto s = make_summary(known_snapshot(), context);
  REQUIRE(s.zones.size() == 2);
  CHECK(s.zones[1].name == "package");
  CHECK(s.zones[1].watts == 40);
  CHECK(s.zones[1].active_watts == 30);
  CHECK(s.zones[1].idle_watts == 10);
  CHECK(s.zones[1].joules == 4000);
  CHECK(s.zones[1].active_joules == 3000);
  CHECK(s.zones[1].source == "fake-cpu-meter");
  CHECK(s.zones[1].method == meter_method::estimate);
  CHECK(s.zones[1].model == "1 × (10 W + 50 W × CPU usage)");
  CHECK(s.zones[0].source.empty());  // a zone the context does not know
  CHECK(s.cpu_time_source == "procfs");
  REQUIRE(s.pod_source);
  CHECK(s.pod_source->mode == "kubelet");
  CHECK(s.pod_source->pods == 2);
  const auto& e = s.exporter;
  REQUIRE(e.sources.size() == 2);
  CHECK_FALSE(e.sources[1].up);
  CHECK(e.sources[1].errors == 3);
  CHECK(e.restarts == 2);
  REQUIRE(e.restarted.size() == 1);
  CHECK(e.restarted[0].actor == "cpu_time");
  CHECK(e.http_drops == 5);
  CHECK(e.collection_seconds == 0.012);
  CHECK(e.resident_bytes == 20 << 20);
  CHECK_FALSE(e.cpu_ratio);  // no history
  CHECK(s.history.times.empty());
}

TEST_CASE("the summary of a node without meters or workloads is empty, not an error", "[metrics][summary]") {
  snapshot snap;
  const auto s = make_summary(snap, summary_context{});
  CHECK(s.ranked_zone.empty());
  CHECK(s.zones.empty());
  CHECK(s.processes.count == 0);
  CHECK(s.processes.top.empty());
  CHECK_FALSE(s.pod_source);
  auto unmetered = known_snapshot();
  unmetered.zones.clear();
  unmetered.running_watts.clear();
  const auto without_meter = make_summary(unmetered, known_context());
  CHECK(without_meter.processes.count == 12);  // still counted, nothing to rank them by
  CHECK(without_meter.processes.others_count == 12);
  CHECK(without_meter.processes.top.empty());
  CHECK(without_meter.containers.count == 3);
  snapshot idle = known_snapshot();
  for (auto& z : idle.zones) z.active_watts = 0;
  const auto shares_of_idle = make_summary(idle, known_context());
  CHECK(shares_of_idle.processes.top[0].share == 0);  // no active power: no shares, no division by zero
}

TEST_CASE("provenance_of names each zone once with its meter", "[metrics][summary]") {
  power_meter meter;
  meter.source = "rapl";
  for (const char* name : {"package", "dram", "package", "dram"}) {
    zone_source zone;
    zone.zone.name = name;
    zone.label = name;
    meter.zones.push_back(zone);
  }
  meter.zones[1].provenance = {meter_method::estimate, "teads-tdp", "TDP 125 W × 1 package"};
  const auto out = provenance_of(meter);
  REQUIRE(out.size() == 2);
  CHECK(out[0].zone == "package");
  CHECK(out[0].source == "rapl");
  CHECK(out[0].method == meter_method::counter);
  CHECK(out[0].model.empty());
  CHECK(out[1].zone == "dram");
  CHECK(out[1].method == meter_method::estimate);
  CHECK(out[1].model == "teads-tdp (TDP 125 W × 1 package)");
}

TEST_CASE("lazy_summary builds once, with the history up to its snapshot's mark", "[metrics][summary]") {
  auto history = std::make_shared<power_history>(10);
  auto first = std::make_shared<snapshot>(known_snapshot());
  first->mono_ns = 1'000'000'000;
  const uint64_t mark = history->record(*first);
  auto second = std::make_shared<snapshot>(known_snapshot());
  second->mono_ns = 6'000'000'000;
  second->self.cpu_seconds = 2.0;  // 0.5 s of CPU in 5 s
  const uint64_t later = history->record(*second);
  history->record(*second);  // a third point after both

  lazy_summary at_first(first, std::make_shared<const summary_context>(known_context()), history, mark);
  const auto& s = at_first.get();
  CHECK(&at_first.get() == &s);
  CHECK(s.history.times.size() == 1);
  CHECK_FALSE(s.exporter.cpu_ratio);  // the first point has no interval before it
  lazy_summary at_second(second, std::make_shared<const summary_context>(known_context()), history, later);
  CHECK(at_second.get().history.times.size() == 2);
  REQUIRE(at_second.get().exporter.cpu_ratio);
  CHECK_THAT(*at_second.get().exporter.cpu_ratio, WithinAbs(0.1, 1e-12));
}
