// exporter.prometheus.maxProcessSeries through the pure engine: who gets a series, and the
// books that must hold whatever the ranking does.

#include "attribution/attribution.hpp"

#include <map>
#include <random>

#include <catch2/catch.hpp>

#include "test/attribution/scripted_scan.hpp"

using namespace kepler;
using namespace kepler::test;

namespace {

std::shared_ptr<const process_info> in_container(const std::string& comm, const std::string& container) {
  auto info = std::make_shared<process_info>();
  info->comm = comm;
  info->exe = "/bin/" + comm;
  info->type = container.empty() ? process_type::regular : process_type::container;
  info->container_id = container;
  return info;
}

/// A node whose processes use given CPU time each second; every interval is 1 s on 4 CPUs
/// (400 ticks), the energy counter rises 20 J a second.
struct node_script {
  std::vector<process_sample> processes;
  uint64_t busy_ticks = 0, idle_ticks = 0, uptime_ns = 1000 * uint64_t(second), energy_uj = 0;
  int64_t now = 0;

  void start(int32_t pid, const std::string& container) {
    processes.push_back({{pid, 1}, 0, in_container("p" + std::to_string(pid), container)});
  }
  void stop(int32_t pid) {
    std::erase_if(processes, [pid](const process_sample& p) { return p.key.pid == pid; });
  }
  /// One more second, in which each listed process uses the CPU nanoseconds given.
  round_input tick(const std::map<int32_t, uint64_t>& used) {
    uint64_t busy_ns = 0;
    for (auto& p : processes) {
      if (auto it = used.find(p.key.pid); it != used.end()) p.cpu_ns += it->second, busy_ns += it->second;
    }
    uint64_t busy = (busy_ns + ns_per_tick - 1) / ns_per_tick;
    busy_ticks += busy;
    idle_ticks += 400 - busy;
    uptime_ns += second;
    now += second;
    energy_uj += 20'000'000;
    return round_input{{energy_reading{"/zone", energy_uj, energy_uj, 0, 1, now, 0}},
                       scan_of(busy_ticks, idle_ticks, processes, uptime_ns),
                       0,
                       now};
  }
};

terminated_policy keep_everything() { return terminated_policy{-1, 0, 3600 * second}; }

attribution capped_at(std::size_t limit, terminated_policy policy = keep_everything()) {
  attribution math(one_package(), policy);
  math.cap_process_series(limit);
  return math;
}

/// What a scraper sees of the capped process series, across snapshots: the last value of every
/// series it has ever seen (a series that left keeps the value it last showed).
struct scraper {
  std::map<std::pair<int32_t, std::string>, uint64_t> own;  // (pid, state) → µJ
  std::map<int32_t, uint64_t> own_cpu;
  std::map<int32_t, std::string> container_of;
  std::map<std::string, uint64_t> others, others_cpu;  // container id → µJ, CPU ns

  /// Records a snapshot, failing on any counter that went down since it was last seen.
  void see(const snapshot& snap) {
    REQUIRE(snap.capped_processes);
    const auto& capped = *snap.capped_processes;
    auto see_own = [&](const process_row& row, uint64_t uj) {
      auto& last = own[{row.key.pid, ""}];
      CHECK(uj >= last);
      CHECK(row.cpu_ns >= own_cpu[row.key.pid]);
      last = uj;
      own_cpu[row.key.pid] = row.cpu_ns;
      container_of[row.key.pid] = row.info->container_id;
    };
    for (std::size_t i = 0; i < capped.running.size(); ++i) see_own(capped.running[i], capped.running_energy_uj[i]);
    for (std::size_t i = 0; i < capped.terminated.size(); ++i)
      see_own(capped.terminated[i], capped.terminated_energy_uj[i]);
    for (std::size_t i = 0; i < capped.others.size(); ++i) {
      const auto& row = capped.others[i];
      CHECK(capped.others_energy_uj[i] >= others[row.container_id]);
      CHECK(row.cpu_ns >= others_cpu[row.container_id]);
      others[row.container_id] = capped.others_energy_uj[i];
      others_cpu[row.container_id] = row.cpu_ns;
    }
  }

  /// Σ own series of the container's processes + its others series.
  std::pair<uint64_t, uint64_t> container_total(const std::string& id) const {
    uint64_t uj = others.count(id) ? others.at(id) : 0, cpu = others_cpu.count(id) ? others_cpu.at(id) : 0;
    for (const auto& [key, value] : own)
      if (container_of.at(key.first) == id) uj += value, cpu += own_cpu.at(key.first);
    return {uj, cpu};
  }
};

/// Every container of `snap` (running or terminated) equals what the scraper adds up for it.
void check_containers_add_up(const snapshot& snap, const scraper& seen) {
  auto check = [&](const workload_row& row, uint64_t energy) {
    auto [uj, cpu] = seen.container_total(row.id());
    INFO("container " << row.id());
    CHECK(uj == energy);
    CHECK(cpu == row.cpu_ns);
  };
  for (std::size_t i = 0; i < snap.containers.running.size(); ++i)
    check(snap.containers.running[i], snap.containers.running_energy_uj[i]);
  for (std::size_t i = 0; i < snap.containers.terminated.size(); ++i)
    check(snap.containers.terminated[i], snap.containers.terminated_energy_uj[i]);
}

uint64_t own_energy(const snapshot& snap, int32_t pid) {
  const auto& capped = *snap.capped_processes;
  for (std::size_t i = 0; i < capped.running.size(); ++i)
    if (capped.running[i].key.pid == pid) return capped.running_energy_uj[i];
  FAIL("pid " << pid << " has no series of its own");
  return 0;
}

bool has_own_series(const snapshot& snap, int32_t pid) {
  for (const auto& row : snap.capped_processes->running)
    if (row.key.pid == pid) return true;
  return false;
}

uint64_t others_energy(const snapshot& snap, const std::string& container) {
  const auto& capped = *snap.capped_processes;
  for (std::size_t i = 0; i < capped.others.size(); ++i)
    if (capped.others[i].container_id == container) return capped.others_energy_uj[i];
  return 0;
}

}  // namespace

TEST_CASE("without a cap there is no capped view and every process is listed") {
  attribution math(one_package(), keep_everything());
  node_script node;
  for (int32_t pid = 1; pid <= 5; ++pid) node.start(pid, "");
  math.update(node.tick({}));
  auto snap = math.update(node.tick({{1, 100'000'000}, {2, 50'000'000}}));
  CHECK_FALSE(snap->capped_processes);
  CHECK(snap->running.size() == 5);
}

TEST_CASE("only the top N processes of the interval get a series; the rest are summed per container") {
  auto math = capped_at(2);
  node_script node;
  node.start(1, "aaa");
  node.start(2, "aaa");
  node.start(3, "aaa");
  node.start(4, "");
  math.update(node.tick({}));
  auto snap = math.update(node.tick({{1, 400'000'000}, {2, 300'000'000}, {3, 200'000'000}, {4, 100'000'000}}));
  const auto& capped = *snap->capped_processes;
  REQUIRE(capped.running.size() == 2);
  CHECK(capped.running[0].key.pid == 1);
  CHECK(capped.running[1].key.pid == 2);
  // 1 s busy of 4: 5 J active, shared 4 : 3 : 2 : 1. Pid 3's share goes to aaa's others,
  // pid 4's to the others outside containers.
  CHECK(own_energy(*snap, 1) == 2'000'000);
  CHECK(own_energy(*snap, 2) == 1'500'000);
  CHECK(others_energy(*snap, "aaa") == 1'000'000);
  CHECK(others_energy(*snap, "") == 500'000);
  CHECK(snap->running.size() == 4);  // the full list stays for the page and the containers
}

TEST_CASE("a process entering the top N exports only what it used while among them") {
  auto math = capped_at(1);
  node_script node;
  node.start(1, "aaa");
  node.start(2, "aaa");
  math.update(node.tick({}));
  auto first = math.update(node.tick({{1, 300'000'000}, {2, 100'000'000}}));
  uint64_t others_before = others_energy(*first, "aaa");
  uint64_t first_of_1 = own_energy(*first, 1);
  REQUIRE(others_before > 0);

  auto second_round = math.update(node.tick({{1, 100'000'000}, {2, 300'000'000}}));
  CHECK_FALSE(has_own_series(*second_round, 1));
  // Pid 2's series starts with this interval's share alone; its earlier share stays in
  // others, which does not go down, and pid 1's interval goes there too.
  CHECK(own_energy(*second_round, 2) == 3 * (others_energy(*second_round, "aaa") - others_before));

  auto third = math.update(node.tick({{1, 300'000'000}, {2, 100'000'000}}));
  // Pid 1 comes back where its series stopped, plus this interval.
  CHECK(own_energy(*third, 1) == first_of_1 * 2);
}

TEST_CASE("capped counters never decrease and add up to their containers while processes churn") {
  auto math = capped_at(3);
  node_script node;
  std::mt19937 random(16);
  const std::vector<std::string> containers{"aaa", "bbb", "ccc", ""};
  int32_t next_pid = 1;
  std::vector<int32_t> live;
  scraper seen;
  math.update(node.tick({}));
  for (int interval = 0; interval < 200; ++interval) {
    if (live.size() < 12 || random() % 3 == 0) {
      node.start(next_pid, containers[random() % containers.size()]);
      live.push_back(next_pid++);
    }
    if (live.size() > 6 && random() % 3 == 0) {
      std::size_t gone = random() % live.size();
      node.stop(live[gone]);
      live.erase(live.begin() + static_cast<std::ptrdiff_t>(gone));
    }
    std::map<int32_t, uint64_t> used;
    for (int32_t pid : live) used[pid] = (random() % 40) * 5'000'000;  // 0 to 195 ms, often reordered
    auto snap = math.update(node.tick(used));
    CHECK(snap->capped_processes->running.size() <= 3);
    seen.see(*snap);
    check_containers_add_up(*snap, seen);
    CHECK(snap->zones[0].conservation_error_uj == 0);
  }
}

TEST_CASE("an others series lives as long as its container is exported") {
  auto math = capped_at(1, terminated_policy{-1, 0, 3 * second});
  node_script node;
  node.start(1, "aaa");
  node.start(2, "bbb");
  math.update(node.tick({}));
  auto snap = math.update(node.tick({{1, 300'000'000}, {2, 100'000'000}}));
  REQUIRE(others_energy(*snap, "bbb") > 0);
  node.stop(2);
  snap = math.update(node.tick({{1, 300'000'000}}));
  REQUIRE(snap->capped_processes->others.size() == 1);
  CHECK(snap->capped_processes->others[0].terminated);  // bbb ended; its series stays, 0 W
  CHECK(snap->capped_processes->others_watts[0] == 0.0);
  for (int i = 0; i < 4; ++i) snap = math.update(node.tick({{1, 300'000'000}}));
  CHECK(snap->containers.terminated.empty());
  CHECK(snap->capped_processes->others.empty());
}

TEST_CASE("an ended process keeps its own series while it is retained as terminated") {
  auto math = capped_at(1, terminated_policy{-1, 0, 3 * second});
  node_script node;
  for (int32_t pid = 1; pid <= 3; ++pid) node.start(pid, "");
  math.update(node.tick({}));
  auto snap = math.update(node.tick({{1, 300'000'000}, {2, 100'000'000}, {3, 200'000'000}}));
  uint64_t own = own_energy(*snap, 1);
  node.stop(1);
  snap = math.update(node.tick({{2, 100'000'000}, {3, 200'000'000}}));
  REQUIRE(snap->capped_processes->terminated.size() == 1);
  CHECK(snap->capped_processes->terminated[0].key.pid == 1);
  CHECK(snap->capped_processes->terminated_energy_uj[0] == own);
  // Pid 2 never had a series of its own: it ends without a terminated one.
  node.stop(2);
  snap = math.update(node.tick({{3, 200'000'000}}));
  REQUIRE(snap->capped_processes->terminated.size() == 1);
  CHECK(snap->capped_processes->terminated[0].key.pid == 1);
  // Past the retention window both are gone, and so are their counters.
  for (int i = 0; i < 4; ++i) snap = math.update(node.tick({{3, 200'000'000}}));
  CHECK(snap->capped_processes->terminated.empty());
}
