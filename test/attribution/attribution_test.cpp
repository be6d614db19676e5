#include "attribution/attribution.hpp"

#include <random>

#include <catch2/catch.hpp>

#include "test/attribution/scripted_scan.hpp"
#include "test/support/process_info.hpp"

using namespace kepler;
using namespace kepler::test;

namespace {

/// Builds CPU scans: node busy/idle ticks plus processes with cumulative CPU time.
struct cpu_script {
  uint64_t busy_ticks = 0, idle_ticks = 0, uptime_ns = 1000 * uint64_t(second);
  std::vector<process_sample> processes;

  void add(int32_t pid, uint64_t start_ticks, const std::string& comm) {
    add(pid, start_ticks, testing::regular_process(comm, "/bin/" + comm));
  }
  void add(int32_t pid, uint64_t start_ticks, process_info info) {
    processes.push_back(process_sample{{pid, start_ticks}, 0, std::make_shared<process_info>(std::move(info))});
  }
  process_sample& at(int32_t pid) {
    for (auto& p : processes)
      if (p.key.pid == pid) return p;
    throw std::runtime_error("no such pid");
  }
  /// Advances time: `busy` and `idle` ticks on the node, CPU ns per pid.
  void run(uint64_t busy, uint64_t idle, std::vector<std::pair<int32_t, uint64_t>> used = {}) {
    busy_ticks += busy;
    idle_ticks += idle;
    uptime_ns += (busy + idle) * ns_per_tick;
    for (auto [pid, ns] : used) at(pid).cpu_ns += ns;
  }
  std::shared_ptr<const process_table> scan() const { return scan_of(busy_ticks, idle_ticks, processes, uptime_ns); }
};

energy_reading reading(uint64_t total_uj, int64_t mono_ns, uint64_t generation = 1) {
  return energy_reading{"/zone", total_uj, total_uj, 0, generation, mono_ns, 0};
}

round_input round(std::vector<std::optional<energy_reading>> readings, std::shared_ptr<const process_table> cpu,
                  int64_t mono_ns) {
  return round_input{std::move(readings), std::move(cpu), 0, mono_ns};
}

terminated_policy keep_everything() { return terminated_policy{-1, 0, 3600 * second}; }

uint64_t energy_of(const snapshot& snap, int32_t pid, std::size_t zone = 0) {
  for (std::size_t i = 0; i < snap.running.size(); ++i)
    if (snap.running[i].key.pid == pid) return snap.running_energy_uj[i * snap.zones.size() + zone];
  for (std::size_t i = 0; i < snap.terminated.size(); ++i)
    if (snap.terminated[i].key.pid == pid) return snap.terminated_energy_uj[i * snap.zones.size() + zone];
  FAIL("pid " << pid << " not in snapshot");
  return 0;
}

/// Σ workloads + unattributed = active, total = active + idle, to the microjoule.
void check_books_balance(const snapshot& snap) {
  for (std::size_t z = 0; z < snap.zones.size(); ++z) {
    const auto& zone = snap.zones[z];
    CHECK(zone.total_uj == zone.active_uj + zone.idle_uj);
    CHECK(zone.conservation_error_uj == 0);
  }
}

}  // namespace

TEST_CASE("the first reading is a baseline: every total starts at zero") {
  attribution math(one_package(), keep_everything());
  cpu_script cpu;
  cpu.add(100, 1, "worker");
  auto snap = math.update(round({reading(100'000'000, 0)}, cpu.scan(), 0));
  REQUIRE(snap->zones.size() == 1);
  CHECK(snap->zones[0].total_uj == 0);
  CHECK(snap->zones[0].active_uj == 0);
  CHECK(snap->zones[0].idle_uj == 0);
  CHECK(energy_of(*snap, 100) == 0);
}

TEST_CASE("the worked example splits one window exactly (spec 5.4.1)") {
  attribution math(one_package(), keep_everything());
  cpu_script cpu;
  cpu.add(1, 1, "a");
  cpu.add(2, 1, "b");
  math.update(round({reading(100'000'000, 0)}, cpu.scan(), 0));
  // 5 s on 8 CPUs = 4000 ticks; 25 % busy = 1000 ticks = 10 s CPU; A 2.5 s, B 7.5 s.
  cpu.run(1000, 3000, {{1, 2'500'000'000}, {2, 7'500'000'000}});
  auto snap = math.update(round({reading(250'000'000, 5 * second)}, cpu.scan(), 5 * second));
  const auto& zone = snap->zones[0];
  CHECK(zone.total_uj == 150'000'000);
  CHECK(zone.active_uj == 37'500'000);
  CHECK(zone.idle_uj == 112'500'000);
  CHECK(zone.watts == Approx(30.0));
  CHECK(zone.active_watts == Approx(7.5));
  CHECK(snap->usage_ratio == Approx(0.25));
  CHECK(energy_of(*snap, 1) == 9'375'000);
  CHECK(energy_of(*snap, 2) == 28'125'000);
  CHECK(zone.unattributed_uj == 0);
  check_books_balance(*snap);
}

TEST_CASE("busy time no live process accounts for stays unattributed") {
  attribution math(one_package(), keep_everything());
  cpu_script cpu;
  cpu.add(1, 1, "a");
  math.update(round({reading(0, 0)}, cpu.scan(), 0));
  cpu.run(100, 100, {{1, 500'000'000}});  // node busy 1 s, the process only 0.5 s
  auto snap = math.update(round({reading(10'000'000, second)}, cpu.scan(), second));
  CHECK(snap->zones[0].active_uj == 5'000'000);
  CHECK(energy_of(*snap, 1) == 2'500'000);
  CHECK(snap->zones[0].unattributed_uj == 2'500'000);
  CHECK(snap->zones[0].unattributed_watts == Approx(2.5));
  check_books_balance(*snap);
}

TEST_CASE("an empty CPU window keeps its energy for the next window") {
  attribution math(one_package(), keep_everything());
  cpu_script cpu;
  cpu.add(1, 1, "a");
  math.update(round({reading(0, 0)}, cpu.scan(), 0));
  auto snap = math.update(round({reading(1'000'000, second)}, cpu.scan(), second));
  CHECK(snap->zones[0].total_uj == 0);  // nothing elapsed on the CPU clock: no split yet
  cpu.run(50, 50, {{1, 500'000'000}});
  snap = math.update(round({reading(3'000'000, 2 * second)}, cpu.scan(), 2 * second));
  CHECK(snap->zones[0].total_uj == 3'000'000);
  CHECK(snap->zones[0].active_uj == 1'500'000);
  CHECK(energy_of(*snap, 1) == 1'500'000);
  check_books_balance(*snap);
}

TEST_CASE("a stale CPU source delays the split but loses no energy") {
  attribution math(one_package(), keep_everything());
  cpu_script cpu;
  cpu.add(1, 1, "a");
  math.update(round({reading(0, 0)}, cpu.scan(), 0));
  auto snap = math.update(round({reading(4'000'000, second)}, nullptr, second));
  CHECK(snap->zones[0].total_uj == 0);
  cpu.run(200, 200, {{1, 2'000'000'000}});
  snap = math.update(round({reading(8'000'000, 2 * second)}, cpu.scan(), 2 * second));
  CHECK(snap->zones[0].total_uj == 8'000'000);
  CHECK(snap->zones[0].watts == Approx(4.0));
  CHECK(energy_of(*snap, 1) == 4'000'000);
  check_books_balance(*snap);
}

TEST_CASE("a stale zone is caught up by its next reading") {
  attribution math(one_package(), keep_everything());
  cpu_script cpu;
  cpu.add(1, 1, "a");
  math.update(round({reading(0, 0)}, cpu.scan(), 0));
  cpu.run(100, 0, {{1, 1'000'000'000}});
  auto snap = math.update(round({std::nullopt}, cpu.scan(), second));
  CHECK(snap->zones[0].total_uj == 0);
  cpu.run(100, 0, {{1, 1'000'000'000}});
  snap = math.update(round({reading(2'000'000, 2 * second)}, cpu.scan(), 2 * second));
  CHECK(snap->zones[0].total_uj == 2'000'000);
  check_books_balance(*snap);
}

TEST_CASE("zero CPU activity keeps workload counters instead of resetting them") {
  attribution math(one_package(), keep_everything());
  cpu_script cpu;
  cpu.add(1, 1, "a");
  math.update(round({reading(0, 0)}, cpu.scan(), 0));
  cpu.run(100, 0, {{1, 1'000'000'000}});
  auto snap = math.update(round({reading(1'000'000, second)}, cpu.scan(), second));
  uint64_t before = energy_of(*snap, 1);
  CHECK(before == 1'000'000);
  cpu.run(0, 100);
  snap = math.update(round({reading(2'000'000, 2 * second)}, cpu.scan(), 2 * second));
  CHECK(energy_of(*snap, 1) == before);
  CHECK(snap->zones[0].active_uj == 1'000'000);
  CHECK(snap->zones[0].idle_uj == 1'000'000);
  check_books_balance(*snap);
}

TEST_CASE("pid reuse yields two workloads and never a negative delta") {
  attribution math(one_package(), keep_everything());
  cpu_script cpu;
  cpu.add(7, 1, "old");
  math.update(round({reading(0, 0)}, cpu.scan(), 0));
  cpu.run(100, 0, {{7, 1'000'000'000}});
  math.update(round({reading(1'000'000, second)}, cpu.scan(), second));
  // pid 7 exits and is reused by a new process with less CPU time.
  cpu.processes.clear();
  cpu.run(100, 0);
  uint64_t start_after_previous_scan = cpu.uptime_ns / ns_per_tick - 50;
  cpu.add(7, start_after_previous_scan, "new");
  cpu.at(7).cpu_ns = 300'000'000;
  auto snap = math.update(round({reading(2'000'000, 2 * second)}, cpu.scan(), 2 * second));
  REQUIRE(snap->running.size() == 1);
  REQUIRE(snap->terminated.size() == 1);
  CHECK(snap->running[0].info->comm == "new");
  CHECK(snap->running_energy_uj[0] == 300'000);  // its whole CPU time fell in this window
  CHECK(snap->terminated[0].info->comm == "old");
  CHECK(snap->terminated_energy_uj[0] == 1'000'000);
  check_books_balance(*snap);
}

TEST_CASE("a process first seen late but started long ago starts from a baseline") {
  attribution math(one_package(), keep_everything());
  cpu_script cpu;
  math.update(round({reading(0, 0)}, cpu.scan(), 0));
  cpu.add(9, 1, "old_but_unseen");
  cpu.at(9).cpu_ns = 50 * uint64_t(second);
  cpu.run(100, 0);
  auto snap = math.update(round({reading(1'000'000, second)}, cpu.scan(), second));
  CHECK(energy_of(*snap, 9) == 0);
  CHECK(snap->zones[0].unattributed_uj == 1'000'000);
}

TEST_CASE("sockets of one zone name are summed into one aggregated node zone") {
  attribution math({{"package", 0, "/p0", 0}, {"package", 1, "/p1", 0}, {"dram", 0, "/d0", 0}}, keep_everything());
  REQUIRE(math.node_zones().size() == 2);
  CHECK(math.node_zones()[0].path == "aggregated-package");
  CHECK(math.node_zones()[1].path == "/d0");
  cpu_script cpu;
  cpu.add(1, 1, "a");
  math.update(round({reading(0, 0), reading(0, 0), reading(0, 0)}, cpu.scan(), 0));
  cpu.run(100, 100, {{1, 1'000'000'000}});
  auto snap = math.update(
      round({reading(3'000'000, second), reading(5'000'000, second), reading(1'000'000, second)}, cpu.scan(), second));
  CHECK(snap->zones[0].total_uj == 8'000'000);
  CHECK(snap->zones[1].total_uj == 1'000'000);
  REQUIRE(snap->sockets.size() == 3);
  CHECK(snap->sockets[1].total_uj == 5'000'000);
  CHECK(energy_of(*snap, 1, 0) == 4'000'000);
  check_books_balance(*snap);
}

TEST_CASE("a restarted sampler is bridged through the raw counter, wrap included") {
  attribution math({{"package", 0, "/p0", 1'000'000}}, keep_everything());
  cpu_script cpu;
  cpu.add(1, 1, "a");
  auto first = energy_reading{"/p0", 900'000, 0, 1'000'000, 1, 0, 0};
  math.update(round({first}, cpu.scan(), 0));
  cpu.run(100, 0, {{1, 1'000'000'000}});
  // New generation: its own total restarts at 0; the raw counter wrapped 900k → 1M → 200k.
  auto restarted = energy_reading{"/p0", 200'000, 0, 1'000'000, 2, second, 0};
  auto snap = math.update(round({restarted}, cpu.scan(), second));
  CHECK(snap->zones[0].total_uj == 300'000);
  check_books_balance(*snap);
}

TEST_CASE("terminated processes keep their totals for the retention window") {
  terminated_policy policy{-1, 0, 10 * second};
  attribution math(one_package(), policy);
  cpu_script cpu;
  cpu.add(1, 1, "short");
  math.update(round({reading(0, 0)}, cpu.scan(), 0));
  cpu.run(100, 0, {{1, 1'000'000'000}});
  math.update(round({reading(1'000'000, second)}, cpu.scan(), second));
  cpu.processes.clear();
  cpu.run(100, 0);
  auto snap = math.update(round({reading(2'000'000, 2 * second)}, cpu.scan(), 2 * second));
  REQUIRE(snap->terminated.size() == 1);
  CHECK(snap->terminated_energy_uj[0] == 1'000'000);
  check_books_balance(*snap);
  cpu.run(100, 0);
  snap = math.update(round({reading(3'000'000, 12 * second)}, cpu.scan(), 12 * second));
  CHECK(snap->terminated.empty());
  check_books_balance(*snap);  // its energy moved to the retired books
}

TEST_CASE("the terminated cap keeps the most energetic and the threshold drops small ones") {
  terminated_policy policy{2, 150'000, 3600 * second};
  attribution math(one_package(), policy);
  cpu_script cpu;
  for (int pid = 1; pid <= 4; ++pid) cpu.add(pid, 1, "p" + std::to_string(pid));
  math.update(round({reading(0, 0)}, cpu.scan(), 0));
  cpu.run(100, 0, {{1, 100'000'000}, {2, 200'000'000}, {3, 300'000'000}, {4, 400'000'000}});
  math.update(round({reading(1'000'000, second)}, cpu.scan(), second));
  cpu.processes.clear();
  cpu.run(100, 0);
  auto snap = math.update(round({reading(2'000'000, 2 * second)}, cpu.scan(), 2 * second));
  REQUIRE(snap->terminated.size() == 2);
  std::vector<int32_t> kept{snap->terminated[0].key.pid, snap->terminated[1].key.pid};
  std::sort(kept.begin(), kept.end());
  CHECK(kept == std::vector<int32_t>{3, 4});
  check_books_balance(*snap);
}

TEST_CASE("the books balance to the microjoule over many random intervals") {
  attribution math({{"package", 0, "/p0", 0}, {"core", 0, "/c0", 0}}, terminated_policy{3, 1000, 5 * second});
  std::mt19937_64 rng(42);
  cpu_script cpu;
  int32_t next_pid = 1;
  uint64_t package = 0, core = 0;
  for (int interval = 0; interval < 200; ++interval) {
    if (rng() % 3 == 0 || cpu.processes.empty()) cpu.add(next_pid++, cpu.uptime_ns / ns_per_tick, "w");
    if (rng() % 4 == 0 && cpu.processes.size() > 1)
      cpu.processes.erase(cpu.processes.begin() + rng() % cpu.processes.size());
    uint64_t busy = rng() % 400, idle = rng() % 400;
    std::vector<std::pair<int32_t, uint64_t>> used;
    for (const auto& p : cpu.processes) used.emplace_back(p.key.pid, rng() % (busy * ns_per_tick / 2 + 1));
    cpu.run(busy, idle, used);
    package += rng() % 50'000'000;
    core += rng() % 20'000'000;
    auto snap = math.update(round({reading(package, interval * second), reading(core, interval * second)},
                                  rng() % 10 == 0 ? nullptr : cpu.scan(), interval * second));
    check_books_balance(*snap);
  }
}

namespace {

process_info in_container(const std::string& comm, const std::string& id) {
  process_info info = testing::regular_process(comm, "/bin/" + comm);
  info.type = process_type::container;
  info.container_id = id;
  info.runtime = "containerd";
  return info;
}

const workload_row* find_workload(const std::vector<workload_row>& rows, const std::string& id, std::size_t& at) {
  for (at = 0; at < rows.size(); ++at)
    if (rows[at].id() == id) return &rows[at];
  return nullptr;
}

}  // namespace

TEST_CASE("a container is exactly the sum of its processes, also after one of them exits") {
  attribution math(one_package(), keep_everything());
  cpu_script cpu;
  cpu.add(1, 1, in_container("web", "c1"));
  cpu.add(2, 1, in_container("worker", "c1"));
  cpu.add(3, 1, in_container("db", "c2"));
  cpu.add(4, 1, "host");
  math.update(round({reading(0, 0)}, cpu.scan(), 0));
  cpu.run(300, 100, {{1, 700'000'000}, {2, 300'000'000}, {3, 1'333'333'333}, {4, 10'000'000}});
  auto snap = math.update(round({reading(7'000'001, second)}, cpu.scan(), second));
  std::size_t c1 = 0, c2 = 0;
  REQUIRE(find_workload(snap->containers.running, "c1", c1));
  REQUIRE(find_workload(snap->containers.running, "c2", c2));
  CHECK(snap->containers.running_energy_uj[c1] == energy_of(*snap, 1) + energy_of(*snap, 2));
  CHECK(snap->containers.running_energy_uj[c2] == energy_of(*snap, 3));
  double process_watts = 0;
  for (std::size_t i = 0; i < snap->running.size(); ++i)
    if (snap->running[i].info->container_id == "c1") process_watts += snap->running_watts[i];
  CHECK(snap->containers.running_watts[c1] == Approx(process_watts).epsilon(1e-12));
  CHECK(snap->zones[0].outside_containers_uj ==
        snap->zones[0].active_uj - snap->containers.running_energy_uj[c1] - snap->containers.running_energy_uj[c2]);

  cpu.processes.erase(cpu.processes.begin() + 1);  // the worker exits; c1 lives on
  cpu.run(300, 100, {{1, 700'000'000}, {3, 100'000'000}});
  snap = math.update(round({reading(14'000'000, 2 * second)}, cpu.scan(), 2 * second));
  REQUIRE(find_workload(snap->containers.running, "c1", c1));
  CHECK(snap->containers.running_energy_uj[c1] == energy_of(*snap, 1) + energy_of(*snap, 2));
  check_books_balance(*snap);
}

TEST_CASE("a container with no process left is terminated with its final energy") {
  attribution math(one_package(), keep_everything());
  cpu_script cpu;
  cpu.add(1, 1, in_container("job", "c9"));
  math.update(round({reading(0, 0)}, cpu.scan(), 0));
  cpu.run(100, 0, {{1, 1'000'000'000}});
  auto snap = math.update(round({reading(2'000'000, second)}, cpu.scan(), second));
  std::size_t at = 0;
  REQUIRE(find_workload(snap->containers.running, "c9", at));
  uint64_t final_energy = snap->containers.running_energy_uj[at];
  CHECK(final_energy == 2'000'000);
  cpu.processes.clear();
  cpu.run(100, 0);
  snap = math.update(round({reading(3'000'000, 2 * second)}, cpu.scan(), 2 * second));
  CHECK(snap->containers.running.empty());
  REQUIRE(find_workload(snap->containers.terminated, "c9", at));
  CHECK(snap->containers.terminated_energy_uj[at] == final_energy);
  CHECK(snap->containers.terminated[at].info->runtime == "containerd");
}

TEST_CASE("a pod is exactly the sum of its containers and ends when its last container does") {
  attribution math(one_package(), keep_everything());
  cpu_script cpu;
  auto in_pod = [](const std::string& comm, const std::string& container, const std::string& pod) {
    process_info info = in_container(comm, container);
    info.pod_id = pod;
    return info;
  };
  cpu.add(1, 1, in_pod("web", "c1", "pod-a"));
  cpu.add(2, 1, in_pod("sidecar", "c2", "pod-a"));
  cpu.add(3, 1, in_pod("db", "c3", "pod-b"));
  cpu.add(4, 1, in_container("nerdctl", "c4"));  // a container outside Kubernetes: no pod
  math.update(round({reading(0, 0)}, cpu.scan(), 0));
  cpu.run(300, 100, {{1, 700'000'000}, {2, 300'000'000}, {3, 1'333'333'333}, {4, 10'000'000}});
  auto snap = math.update(round({reading(7'000'001, second)}, cpu.scan(), second));
  std::size_t a = 0, b = 0, c1 = 0, c2 = 0;
  REQUIRE(snap->pods.running.size() == 2);
  REQUIRE(find_workload(snap->pods.running, "pod-a", a));
  REQUIRE(find_workload(snap->pods.running, "pod-b", b));
  REQUIRE(find_workload(snap->containers.running, "c1", c1));
  REQUIRE(find_workload(snap->containers.running, "c2", c2));
  CHECK(snap->pods.running_energy_uj[a] ==
        snap->containers.running_energy_uj[c1] + snap->containers.running_energy_uj[c2]);
  CHECK(snap->pods.running_energy_uj[b] == energy_of(*snap, 3));
  CHECK(snap->pods.running[a].cpu_ns == 1'000'000'000);

  cpu.processes.erase(cpu.processes.begin() + 2);  // pod-b's only container exits
  cpu.run(300, 100, {{1, 100'000'000}});
  uint64_t b_final = snap->pods.running_energy_uj[b];
  snap = math.update(round({reading(9'000'000, 2 * second)}, cpu.scan(), 2 * second));
  REQUIRE(snap->pods.running.size() == 1);
  REQUIRE(find_workload(snap->pods.terminated, "pod-b", b));
  CHECK(snap->pods.terminated_energy_uj[b] == b_final);
  check_books_balance(*snap);
}

TEST_CASE("a VM is its hypervisor process") {
  attribution math(one_package(), keep_everything());
  cpu_script cpu;
  process_info qemu = testing::regular_process("qemu-system-x86", "/usr/bin/qemu-system-x86_64");
  qemu.type = process_type::vm;
  qemu.vm_id = "0b3e2c1a";
  qemu.vm_name = "vm1";
  qemu.hypervisor = "kvm";
  cpu.add(50, 1, qemu);
  cpu.add(51, 1, "other");
  math.update(round({reading(0, 0)}, cpu.scan(), 0));
  cpu.run(200, 0, {{50, 1'500'000'000}, {51, 500'000'000}});
  auto snap = math.update(round({reading(4'000'000, second)}, cpu.scan(), second));
  REQUIRE(snap->vms.running.size() == 1);
  CHECK(snap->vms.running[0].id() == "0b3e2c1a");
  CHECK(snap->vms.running_energy_uj[0] == energy_of(*snap, 50));
  CHECK(snap->vms.running_energy_uj[0] == 3'000'000);
  CHECK(snap->vms.running[0].cpu_ns == 1'500'000'000);
  CHECK(snap->containers.running.empty());
}
