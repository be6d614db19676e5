// Root-only tests ([.bpf]): the real probe loaded and attached, real helper processes observed.
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <catch2/catch.hpp>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <optional>
#include <sstream>
#include <thread>
#include <vector>

#include "base/text.hpp"
#include "bpf/cgroup_paths.hpp"
#include "test/bpf/probe_fixture.hpp"
#include "test/bpf/probe_reads.hpp"

using namespace kepler;
using namespace kepler::testing;
using namespace std::chrono_literals;

TEST_CASE("the probe attaches with tp_btf on this kernel and counts its own runs", "[.bpf]") {
  probe_fixture fixture;
  CHECK(fixture.probe->mode() == bpf_attach_mode::tp_btf);
  CHECK(kernel_supports_tp_btf());
  CHECK(fixture.probe->stats_enabled());
  auto before = fixture.probe->program_stats();
  std::this_thread::sleep_for(50ms);
  auto after = fixture.probe->program_stats();
  CHECK(after.run_count > before.run_count);
  CHECK(after.run_time_ns > before.run_time_ns);
}

namespace {

/// Whether the kernel's BPF run-time statistics are on for someone: the sysctl, or any process
/// holding a BPF_ENABLE_STATS descriptor (which the sysctl does not show).
bool others_hold_bpf_stats() {
  if (trim_space(test::whole_file("/proc/sys/kernel/bpf_stats_enabled")) != "0") return true;
  std::error_code ec;
  for (const auto& process : std::filesystem::directory_iterator("/proc", ec)) {
    std::error_code fd_ec;
    for (const auto& fd : std::filesystem::directory_iterator(process.path() / "fd", fd_ec)) {
      std::error_code link_ec;
      if (std::filesystem::read_symlink(fd.path(), link_ec).string() == "anon_inode:bpf-stats") return true;
    }
  }
  return false;
}

}  // namespace

TEST_CASE("without run-time stats the probe neither counts nor times its runs", "[.bpf]") {
  probe_options options;
  options.run_time_stats = false;  // and nothing else in this process turns them on
  probe_fixture fixture(options);
  CHECK_FALSE(fixture.probe->stats_enabled());
  // The statistics are system-wide: another process (a daemon, another test) may hold them on,
  // so the window counts from a baseline, with nobody holding them on at either end.
  auto before = fixture.probe->program_stats();
  bool others_enabled_stats = others_hold_bpf_stats();
  std::this_thread::sleep_for(50ms);
  auto after = fixture.probe->program_stats();
  if (others_enabled_stats || others_hold_bpf_stats()) {
    WARN("another process turned the kernel's BPF run-time statistics on: nothing to check");
    return;
  }
  CHECK(after.run_count == before.run_count);
  CHECK(after.run_time_ns == before.run_time_ns);
}

namespace {

/// 100 short sleeps: at least 200 context switches of this thread (to idle and back).
void switch_often() {
  for (int i = 0; i < 100; ++i) std::this_thread::sleep_for(1ms);
}

}  // namespace

TEST_CASE("the switch program detached runs no more, attached again runs on", "[.bpf]") {
  probe_fixture fixture;
  REQUIRE(fixture.probe->set_switch_attached(false));
  auto before = fixture.probe->program_stats();
  switch_often();
  auto detached = fixture.probe->program_stats();
  REQUIRE(fixture.probe->set_switch_attached(true));
  switch_often();
  auto attached = fixture.probe->program_stats();
  // A switch already under way when the detach returned may still finish in the program; none
  // starts after (the exit, exec and move programs run on, as often as the machine forks).
  CHECK(detached.switch_run_count - before.switch_run_count < 5);
  CHECK(attached.switch_run_count - detached.switch_run_count >= 200);
}

TEST_CASE("a task whose switch-in was missed is still charged its whole slice", "[.bpf]") {
  auto mode = GENERATE(bpf_attach_mode::tp_btf, bpf_attach_mode::raw_tp);
  probe_options options;
  options.force_mode = mode;
  options.gather_on_cpu = false;  // forget_running_tasks rewrites the per-CPU state
  probe_fixture fixture(options);
  child_process child([] { spin_cpu(300'000'000); });
  uint64_t start = proc_start_ticks(child.pid());
  child.go();
  std::this_thread::sleep_for(100ms);  // mid-slice on an idle CPU: its switch-in is forgotten
  fixture.forget_running_tasks();
  siginfo_t exited{};
  REQUIRE(waitid(P_PID, id_t(child.pid()), &exited, WEXITED | WNOWAIT) == 0);
  auto snapshot = fixture.read_until_exit(child.pid(), start);  // its final totals
  double exec_ms = double(proc_exec_ns(child.pid())) / 1e6;     // still readable until reaped
  child.wait();
  auto seen = find_process(snapshot, child.pid(), start);
  REQUIRE(seen);
  double bpf_ms = double(seen->cpu_ns) / 1e6;
  INFO(to_string(mode) << ": eBPF " << bpf_ms << " ms, schedstat " << exec_ms << " ms");
  CHECK(exec_ms >= 300);
  CHECK(bpf_ms >= 0.99 * exec_ms);  // nothing of the forgotten slice is lost
  CHECK(bpf_ms <= 1.01 * exec_ms + double(other_threads_allowance_ns()) / 1e6);
}

namespace {

/// idle + iowait of the aggregate cpu line of /proc/stat, in ms.
double proc_idle_ms() {
  std::istringstream fields(test::whole_file("/proc/stat"));
  std::string cpu;
  uint64_t user, nice, system, idle, iowait;
  fields >> cpu >> user >> nice >> system >> idle >> iowait;
  return double(idle + iowait) * 1000.0 / double(sysconf(_SC_CLK_TCK));
}

uint64_t cgroups_total(const cpu_time_snapshot& snapshot) {
  uint64_t total = 0;
  for (const auto& cgroup : snapshot.cgroups) total += cgroup.cpu_ns;
  return total;
}

}  // namespace

TEST_CASE("idle time follows /proc/stat and idle + busy covers the CPUs' time", "[.bpf]") {
  // Reads in between flush the CPUs in the middle of idle periods: none may lose or add time.
  int reads_between = GENERATE(0, 200);
  probe_fixture fixture;
  std::this_thread::sleep_for(50ms);
  auto first = fixture.read();
  double proc_first = proc_idle_ms();
  for (int read = 0; read < reads_between; ++read) {
    std::this_thread::sleep_for(1000ms / reads_between);
    fixture.read();
  }
  std::this_thread::sleep_for(reads_between ? 0ms : 1000ms);
  auto second = fixture.read();
  double proc_second = proc_idle_ms();

  double bpf_idle_ms = double(second.idle_ns - first.idle_ns) / 1e6;
  double proc_idle = proc_second - proc_first;
  double busy_ms = double(cgroups_total(second) - cgroups_total(first)) / 1e6;
  double elapsed_ms = double(second.monotonic_ns - first.monotonic_ns) / 1e6;
  auto cpus = double(libbpf_num_possible_cpus());
  INFO(reads_between << " reads between; idle: eBPF " << bpf_idle_ms << " ms, /proc/stat " << proc_idle << " ms; busy "
                     << busy_ms << " ms; " << cpus << " CPUs over " << elapsed_ms << " ms");
  if (proc_idle > 50) CHECK(bpf_idle_ms > 0);  // the CPUs may be saturated by other work
  CHECK(std::abs(bpf_idle_ms - proc_idle) <= 20 + 0.02 * elapsed_ms * cpus);
  // Each read charges the running tasks, so the CPUs' time is idle or charged to some cgroup,
  // except what interrupts and the scheduler itself took (no task's runtime): a few % at most.
  double accounted = bpf_idle_ms + busy_ms, available = elapsed_ms * cpus;
  CHECK(accounted <= available * 1.005);
  CHECK(accounted >= available * 0.95);
}

TEST_CASE("a child moved into a cgroup is charged to that cgroup's id", "[.bpf]") {
  auto paths = cgroup_paths::from_mounts();
  REQUIRE(paths.ok());
  std::filesystem::path dir = paths.value().root() / ("kepler-bpf-test-" + std::to_string(getpid()));
  std::filesystem::create_directory(dir);
  struct stat st {};
  REQUIRE(::stat(dir.c_str(), &st) == 0);
  uint64_t cgroup_id = st.st_ino;

  probe_fixture fixture;
  uint64_t start = 0;
  {
    child_process child([] { spin_cpu(60'000'000); });
    start = proc_start_ticks(child.pid());
    std::ofstream(dir / "cgroup.procs") << child.pid() << std::flush;
    child.go();
    child.wait();
    auto snapshot = fixture.read();
    auto seen = find_process(snapshot, child.pid(), start);
    REQUIRE(seen);
    CHECK(seen->cgroup_id == cgroup_id);  // moved after it first ran: the id follows it
    CHECK(cgroup_cpu_ns(snapshot, cgroup_id) >= 50'000'000);
    const std::string* path = paths.value().find(cgroup_id);
    REQUIRE(path);
    CHECK(*path == "/" + dir.filename().string());
  }
  std::filesystem::remove(dir);
}

TEST_CASE("a process that execs is reported under its new name", "[.bpf]") {
  probe_fixture fixture;
  child_process child([] { execl("/bin/sleep", "sleep", "0.02", static_cast<char*>(nullptr)); });
  uint64_t start = proc_start_ticks(child.pid());
  std::this_thread::sleep_for(10ms);  // blocked on its go pipe: seen as bpf_test first
  REQUIRE(fixture.read().processes.size() > 0);
  child.go();
  REQUIRE(WEXITSTATUS(child.wait()) == 0);
  auto seen = find_process(fixture.read(), child.pid(), start);
  REQUIRE(seen);
  CHECK(seen->comm == "sleep");
}

TEST_CASE("maps report their fill and nothing is dropped under normal load", "[.bpf]") {
  probe_options options;
  options.max_processes = 4096;
  options.max_cgroups = 512;
  probe_fixture fixture(options);
  std::this_thread::sleep_for(100ms);
  auto snapshot = fixture.read();
  CHECK(snapshot.process_fill.max_entries == 4096);
  CHECK(snapshot.cgroup_fill.max_entries == 512);
  CHECK(snapshot.process_fill.entries == snapshot.processes.size());
  CHECK(snapshot.process_fill.entries > 0);
  CHECK(snapshot.cgroup_fill.entries >= 1);
  for (uint64_t dropped : snapshot.drops) CHECK(dropped == 0);
  CHECK(snapshot.monotonic_ns > 0);
  std::size_t named = 0;
  for (const auto& process : snapshot.processes) named += !process.comm.empty();
  CHECK(named == snapshot.processes.size());
}

TEST_CASE("metadata lost to a full change ring is recovered from the map", "[.bpf]") {
  probe_options options;
  options.meta_ring_bytes = 4096;  // about 80 changes
  probe_fixture fixture(options);
  fixture.read();
  std::vector<std::pair<pid_t, uint64_t>> children;
  for (int i = 0; i < 200; ++i) {
    child_process child([] { spin_cpu(100'000); });
    children.emplace_back(child.pid(), proc_start_ticks(child.pid()));
    child.go();
    child.wait();
  }
  auto before = fixture.reader->meta_rereads();
  auto snapshot = fixture.read();
  CHECK(snapshot.drops[CPU_TIME_DROP_META_CHANGE] > 0);
  CHECK(fixture.reader->meta_rereads() == before + 1);
  std::size_t named = 0;
  for (auto [pid, start] : children) {
    auto seen = find_process(snapshot, pid, start);
    named += seen && seen->comm == "bpf_test";
    if (!seen || seen->comm != "bpf_test")
      UNSCOPED_INFO("child " << pid << (seen ? " named \"" + seen->comm + "\"" : std::string(" not seen")));
  }
  CHECK(named == children.size());
}

TEST_CASE("a full process map counts drops instead of losing them silently", "[.bpf]") {
  probe_options options;
  options.max_processes = 2;
  probe_fixture fixture(options);
  for (int i = 0; i < 4; ++i) {
    child_process child([] { spin_cpu(1'000'000); });
    child.go();
    child.wait();
  }
  auto snapshot = fixture.read();
  CHECK(snapshot.process_fill.entries <= 2);
  CHECK(snapshot.drops[CPU_TIME_DROP_PROCESS] > 0);
}

namespace {

/// Processes forked since boot (the `processes` line of /proc/stat).
uint64_t forks_since_boot() {
  std::istringstream stat(test::whole_file("/proc/stat"));
  std::string key;
  uint64_t value = 0;
  while (stat >> key) {
    if (key == "processes" && stat >> value) return value;
    stat.ignore(std::numeric_limits<std::streamsize>::max(), '\n');
  }
  return 0;
}

std::size_t processes_in_proc() {
  std::size_t count = 0;
  for (const auto& entry : std::filesystem::directory_iterator("/proc"))
    count += std::isdigit(static_cast<unsigned char>(entry.path().filename().string()[0])) != 0;
  return count;
}

}  // namespace

TEST_CASE("slots of exited processes are given back and count again from zero", "[.bpf]") {
  probe_options options;
  options.max_processes = uint32_t(processes_in_proc() + 64);  // the children need recycled slots
  probe_fixture fixture(options);
  uint64_t forks_before = forks_since_boot();
  constexpr int children = 200;
  struct ran {
    pid_t pid;
    uint64_t start_ticks, exec_ns;
  };
  int exact = 0;
  std::ostringstream misses;
  cpu_time_snapshot last;
  for (int i = 0; i < children; ++i) {
    child_process child([] { spin_cpu(5'000'000); });
    uint64_t start = proc_start_ticks(child.pid());
    child.go();
    siginfo_t exited{};
    REQUIRE(waitid(P_PID, id_t(child.pid()), &exited, WEXITED | WNOWAIT) == 0);
    last = fixture.read_until_exit(child.pid(), start);  // reported with its final totals
    uint64_t exec_ns = proc_exec_ns(child.pid());
    child.wait();
    // A slot that kept an earlier process's time (5 ms or more) would show it here.
    auto seen = find_process(last, child.pid(), start);
    bool same = seen && seen->cpu_ns >= exec_ns && seen->cpu_ns <= exec_ns + other_threads_allowance_ns();
    exact += same;
    if (!same)
      misses << "pid " << child.pid() << ": " << (seen ? std::to_string(seen->cpu_ns) + " ns charged, " : "not seen, ")
             << exec_ns << " ns run\n";
  }
  INFO(misses.str());
  // Each child exact: a charge into a recycled slot, or one after a child's exit, would show
  // here. (charged_after_exit is machine-wide: another process's threads exiting together may
  // leave a straggler's last slice after its exit report, bpf/README.md.)
  CHECK(exact == children);
  // The table is sized for the children: only processes that others started meanwhile (a busy
  // machine: builds, other tests) may find it full, never one of ours (all charged exactly).
  uint64_t others_started = forks_since_boot() - forks_before - children;
  INFO(others_started << " processes started by others meanwhile");
  CHECK(last.drops[CPU_TIME_DROP_PROCESS] <= others_started);
  CHECK(last.process_fill.entries <= options.max_processes);
}

TEST_CASE("batched and key-by-key reads of a map agree", "[.bpf]") {
  probe_fixture fixture;
  std::this_thread::sleep_for(50ms);
  const auto& maps = fixture.probe->maps();
  int cpus = libbpf_num_possible_cpus();
  map_dump batched(maps.processes, sizeof(cpu_time_process_key), sizeof(cpu_time_process_meta), maps.max_processes);
  map_dump iterated(maps.processes, sizeof(cpu_time_process_key), sizeof(cpu_time_process_meta), maps.max_processes);
  iterated.force_iteration();
  map_dump cgroups(maps.cgroups, 8, per_cpu_value_size(8, std::size_t(cpus)), maps.max_cgroups);
  REQUIRE(cgroups.read().ok());
  CHECK_FALSE(cgroups.iterated());
  REQUIRE(batched.read().ok());
  REQUIRE(iterated.read().ok());
  CHECK_FALSE(batched.iterated());
  // New processes may appear between the two reads; every batched key must be iterated too.
  CHECK(iterated.size() >= batched.size());
  std::size_t found = 0;
  for (std::size_t i = 0; i < batched.size(); ++i)
    for (std::size_t j = 0; j < iterated.size(); ++j)
      if (std::memcmp(batched.key(i), iterated.key(j), sizeof(cpu_time_process_key)) == 0) {
        ++found;
        break;
      }
  CHECK(found == batched.size());
}
