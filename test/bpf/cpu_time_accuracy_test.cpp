// Root-only tests ([.bpf]) of the probe's charge against the kernel's own runtime of the same
// task (se.sum_exec_runtime: what /proc/<pid>/schedstat prints and cgroup cpu.stat sums), in
// the patterns that exercise its missed-switch and exit paths. A read is bracketed by the
// kernel's figure just before and just after it; the flush inside the read charges the runtime
// as it stood in between, so every check is exact, with no tolerance (under ThreadSanitizer the
// children also run TSan's thread, which only the probe sees: there, only losses are checked).
#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bpf/cgroup_paths.hpp"
#include "test/bpf/probe_fixture.hpp"
#include "test/bpf/probe_reads.hpp"

using namespace kepler;
using namespace kepler::testing;
using namespace std::chrono_literals;

namespace {

probe_fixture fixture_in(bpf_attach_mode mode) {
  probe_options options;
  options.force_mode = mode;
  return probe_fixture(options);
}

/// With KEPLER_BPF_FIGURES=<file>, each case appends "<pattern> <mode> <largest difference ns>
/// <widest bracket ns>" to the file: the figures of a stability run, whatever the outcome.
void record_figures(const std::string& pattern, bpf_attach_mode mode, uint64_t difference_ns, uint64_t bracket_ns) {
  if (const char* file = std::getenv("KEPLER_BPF_FIGURES"))
    std::ofstream(file, std::ios::app) << pattern << ' ' << to_string(mode) << ' ' << difference_ns << ' ' << bracket_ns
                                       << '\n';
}

/// What the probe charged a single-threaded child as of one read (0 when the read does not
/// list it), and the kernel's runtime of it read just before and just after that read.
struct bracketed_charge {
  std::optional<process_cpu_time> process;
  uint64_t before_ns = 0, charged_ns = 0, after_ns = 0;

  /// Within the bracket (up to the sanitizer's own threads above it: probe_reads.hpp).
  bool holds() const { return before_ns <= charged_ns && charged_ns <= after_ns + other_threads_allowance_ns(); }
  /// How far the charge lies outside the bracket (0 when it holds).
  uint64_t outside_ns() const {
    return charged_ns < before_ns ? before_ns - charged_ns : charged_ns > after_ns ? charged_ns - after_ns : 0;
  }
};

std::ostream& operator<<(std::ostream& out, const bracketed_charge& charge) {
  return out << (charge.process ? "charged " : "not seen, ") << charge.charged_ns << " ns, schedstat "
             << charge.before_ns << " .. " << charge.after_ns << " ns";
}

/// One read of the maps, bracketed by the child's schedstat.
bracketed_charge read_bracketed(probe_fixture& fixture, pid_t pid, uint64_t start_ticks) {
  bracketed_charge charge;
  charge.before_ns = proc_exec_ns(pid);
  auto snapshot = fixture.read();
  charge.after_ns = proc_exec_ns(pid);
  charge.process = find_process(snapshot, pid, start_ticks);
  if (charge.process) charge.charged_ns = charge.process->cpu_ns;
  return charge;
}

/// Collects the reads whose bracket does not hold, to report them all at once.
struct bracket_log {
  int reads = 0, misses = 0;
  uint64_t widest_ns = 0;    ///< the child's runtime during the longest read: the checks' precision
  uint64_t farthest_ns = 0;  ///< the largest distance of a charge outside its bracket
  std::ostringstream details;

  void add(const bracketed_charge& charge, const std::string& context) {
    ++reads;
    widest_ns = std::max(widest_ns, charge.after_ns - charge.before_ns);
    farthest_ns = std::max(farthest_ns, charge.outside_ns());
    if (charge.holds()) return;
    ++misses;
    details << context << ": " << charge << '\n';
  }

  std::string report() const {
    std::ostringstream out;
    out << misses << " of " << reads << " reads off (widest bracket " << widest_ns << " ns)\n" << details.str();
    return out.str();
  }
};

/// A child that spins until killed.
child_process spinning_child() {
  return child_process([] {
    for (;;) spin_cpu(1'000'000'000);
  });
}

/// The CPUs this process may run on.
std::vector<int> allowed_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  std::vector<int> cpus;
  if (sched_getaffinity(0, sizeof set, &set) != 0) return cpus;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu)
    if (CPU_ISSET(cpu, &set)) cpus.push_back(cpu);
  return cpus;
}

bool pin(pid_t pid, int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  return sched_setaffinity(pid, sizeof set, &set) == 0;
}

/// Waits for a child's exit, reads until the probe reports it (its last switch is then behind
/// it), and reaps it: the probe's charge in that read and the kernel's final runtime.
struct final_charge {
  bool seen = false;
  uint64_t charged_ns = 0, runtime_ns = 0;
  cpu_time_snapshot read;

  /// |charged - run|; the whole runtime when the exit was not seen.
  uint64_t difference_ns() const {
    if (!seen) return runtime_ns;
    return charged_ns > runtime_ns ? charged_ns - runtime_ns : runtime_ns - charged_ns;
  }
};

final_charge read_exit_and_reap(probe_fixture& fixture, child_process& child, uint64_t start_ticks) {
  final_charge result;
  siginfo_t exited{};
  waitid(P_PID, id_t(child.pid()), &exited, WEXITED | WNOWAIT);
  result.read = fixture.read_until_exit(child.pid(), start_ticks);
  result.runtime_ns = proc_exec_ns(child.pid());  // readable until reaped
  child.wait();
  if (auto process = find_process(result.read, child.pid(), start_ticks)) {
    result.seen = true;
    result.charged_ns = process->cpu_ns;
  }
  return result;
}

/// Tallies the final charges of exited children against their runtime, keeping those that differ.
struct exit_log {
  int children = 0, exact = 0;
  uint64_t largest_ns = 0;  ///< the largest |charged - run|
  std::ostringstream misses;

  void add(const final_charge& charge, int child) {
    ++children;
    largest_ns = std::max(largest_ns, charge.difference_ns());
    if (charge.seen && charge.charged_ns >= charge.runtime_ns &&
        charge.charged_ns <= charge.runtime_ns + other_threads_allowance_ns()) {
      ++exact;
      return;
    }
    misses << "child " << child << ": " << (charge.seen ? std::to_string(charge.charged_ns) : std::string("not seen"))
           << " ns charged, " << charge.runtime_ns << " ns run\n";
  }
};

/// Waits (up to a second) until `pid` sleeps, e.g. blocked on its go pipe.
void wait_until_sleeping(pid_t pid) {
  for (int i = 0; i < 10'000; ++i) {
    std::string stat = test::whole_file("/proc/" + std::to_string(pid) + "/stat");
    std::size_t state = stat.rfind(')') + 2;  // the field after the command name
    if (state < stat.size() && stat[state] == 'S') return;
    std::this_thread::sleep_for(100us);
  }
}

/// usage_usec of a cgroup v2 directory's cpu.stat.
uint64_t cgroup_usage_us(const std::filesystem::path& dir) {
  std::istringstream stat(test::whole_file((dir / "cpu.stat").string()));
  std::string key;
  uint64_t value = 0;
  while (stat >> key >> value)
    if (key == "usage_usec") return value;
  return 0;
}

}  // namespace

TEST_CASE("a busy child is charged exactly its runtime, and /proc utime + stime agree", "[.bpf]") {
  probe_fixture fixture;
  REQUIRE(fixture.reader->flushes());
  // It may never be switched out on an idle CPU: each read charges the slice in progress.
  auto child = spinning_child();
  uint64_t start = proc_start_ticks(child.pid());
  child.go();
  std::this_thread::sleep_for(200ms);
  uint64_t ticks_before_first = proc_cpu_ticks(child.pid());
  auto first = read_bracketed(fixture, child.pid(), start);
  uint64_t ticks_after_first = proc_cpu_ticks(child.pid());
  std::this_thread::sleep_for(1500ms);
  uint64_t ticks_before_second = proc_cpu_ticks(child.pid());
  auto second = read_bracketed(fixture, child.pid(), start);
  uint64_t ticks_after_second = proc_cpu_ticks(child.pid());

  record_figures("busy_child", fixture.probe->mode(), std::max(first.outside_ns(), second.outside_ns()),
                 std::max(first.after_ns - first.before_ns, second.after_ns - second.before_ns));
  INFO("first read: " << first << "; second read: " << second);
  REQUIRE(first.process);
  REQUIRE(second.process);
  CHECK(first.holds());
  CHECK(second.holds());
  CHECK(second.process->comm == "bpf_test");
  // utime + stime is the same runtime in clock ticks, each of the two truncated: between 2
  // ticks under and the runtime itself, read around each read like schedstat.
  double bpf_ms = double(second.charged_ns - first.charged_ns) / 1e6;
  double tick_ms = 1000.0 / double(sysconf(_SC_CLK_TCK));
  double least_ms = (double(ticks_before_second) - double(ticks_after_first) - 2) * tick_ms;
  double most_ms = (double(ticks_after_second) - double(ticks_before_first) + 2) * tick_ms;
  INFO("eBPF " << bpf_ms << " ms, /proc stat between " << least_ms << " and " << most_ms << " ms");
  CHECK(least_ms > 100);  // it ran, even on a loaded machine (1500 ms on an idle one)
  CHECK(bpf_ms >= least_ms);
  CHECK(bpf_ms <= most_ms);
}

TEST_CASE("a child read within its first slice is charged exactly its runtime so far", "[.bpf]") {
  auto mode = GENERATE(bpf_attach_mode::tp_btf, bpf_attach_mode::raw_tp);
  auto fixture = fixture_in(mode);
  bracket_log log;
  for (int i = 0; i < 40; ++i) {
    auto child = spinning_child();
    uint64_t start = proc_start_ticks(child.pid());
    child.go();
    std::this_thread::sleep_for(std::chrono::microseconds(250 * (i % 8)));  // 0 to 1.75 ms in
    log.add(read_bracketed(fixture, child.pid(), start), "child " + std::to_string(i));
  }
  record_figures("first_slice", mode, log.farthest_ns, log.widest_ns);
  INFO(to_string(mode) << ": " << log.report());
  CHECK(log.misses == 0);
}

TEST_CASE("flushes in the middle of a slice charge it once, however many there are", "[.bpf]") {
  auto mode = GENERATE(bpf_attach_mode::tp_btf, bpf_attach_mode::raw_tp);
  auto fixture = fixture_in(mode);
  auto child = spinning_child();
  uint64_t start = proc_start_ticks(child.pid());
  child.go();
  std::this_thread::sleep_for(50ms);
  bracket_log log;
  log.add(read_bracketed(fixture, child.pid(), start), "one flush");
  std::this_thread::sleep_for(50ms);
  for (int i = 0; i < 200; ++i) {  // back to back, then ~1 ms apart
    if (i >= 100) std::this_thread::sleep_for(1ms);
    log.add(read_bracketed(fixture, child.pid(), start), "flush " + std::to_string(i));
  }
  record_figures("mid_slice_flushes", mode, log.farthest_ns, log.widest_ns);
  INFO(to_string(mode) << ": " << log.report());
  CHECK(log.misses == 0);
}

/// Moves a spinning child between two CPUs 60 times, reading right after each move and once it
/// runs there. A task migrated by the stopper thread sometimes appears on its new CPU with no
/// sched_switch run for it, and its next move re-picks it mid-slice: the case the probe's
/// per-task marks cover.
TEST_CASE("a task moved between CPUs mid-run is charged exactly on each", "[.bpf]") {
  auto cpus = allowed_cpus();
  if (cpus.size() < 2) {
    WARN("one CPU only: nothing to migrate between");
    return;
  }
  auto mode = GENERATE(bpf_attach_mode::tp_btf, bpf_attach_mode::raw_tp);
  auto fixture = fixture_in(mode);
  auto child = spinning_child();
  uint64_t start = proc_start_ticks(child.pid());
  child.go();
  bracket_log log;
  for (int i = 0; i < 60; ++i) {
    REQUIRE(pin(child.pid(), cpus[std::size_t(i) % 2]));
    // Right after the move (the flush may find it on either CPU), and once it runs there.
    log.add(read_bracketed(fixture, child.pid(), start), "just moved " + std::to_string(i));
    std::this_thread::sleep_for(2ms);
    log.add(read_bracketed(fixture, child.pid(), start), "moved " + std::to_string(i));
  }
  record_figures("migration", mode, log.farthest_ns, log.widest_ns);
  INFO(to_string(mode) << ": " << log.report());
  CHECK(fixture.probe->program_stats().recursion_misses == 0);
  CHECK(log.misses == 0);
}

namespace {

/// Pins the calling thread to one CPU for its lifetime, then gives it back its CPUs.
class pinned_here {
 public:
  explicit pinned_here(int cpu) {
    CPU_ZERO(&saved_);
    REQUIRE(sched_getaffinity(0, sizeof saved_, &saved_) == 0);
    REQUIRE(pin(0, cpu));
  }
  ~pinned_here() { sched_setaffinity(0, sizeof saved_, &saved_); }
  pinned_here(const pinned_here&) = delete;
  pinned_here& operator=(const pinned_here&) = delete;

 private:
  cpu_set_t saved_;
};

}  // namespace

// The gap a stopper migration opened: the child's switch-in is unseen (forgotten here), and an
// affinity change that keeps it where it runs re-picks it mid-slice (put_prev_task() +
// set_next_task()), so prev_sum_exec_runtime restarts there; the slice before that change is
// found through the child's mark, the runtime it was last charged.
TEST_CASE("a task re-picked mid-slice after an unseen switch-in is charged from its last charge", "[.bpf]") {
  auto cpus = allowed_cpus();
  if (cpus.size() < 2) {
    WARN("one CPU only: the test needs the child alone on a CPU");
    return;
  }
  auto mode = GENERATE(bpf_attach_mode::tp_btf, bpf_attach_mode::raw_tp);
  probe_options options;
  options.force_mode = mode;
  options.gather_on_cpu = false;  // forget_running_tasks rewrites the per-CPU state
  probe_fixture fixture(options);
  pinned_here self(cpus[0]);  // the child alone on the other CPU: nothing switches it out
  auto child = spinning_child();
  uint64_t start = proc_start_ticks(child.pid());
  REQUIRE(pin(child.pid(), cpus[1]));
  child.go();
  std::this_thread::sleep_for(20ms);
  bracket_log log;
  log.add(read_bracketed(fixture, child.pid(), start), "before");  // its last charge: 20 ms in
  fixture.forget_running_tasks();
  std::this_thread::sleep_for(20ms);
  cpu_set_t both;
  CPU_ZERO(&both);
  CPU_SET(cpus[0], &both);
  CPU_SET(cpus[1], &both);
  REQUIRE(sched_setaffinity(child.pid(), sizeof both, &both) == 0);  // still allowed where it runs
  std::this_thread::sleep_for(20ms);
  log.add(read_bracketed(fixture, child.pid(), start), "after the re-pick");
  record_figures("unseen_repick", mode, log.farthest_ns, log.widest_ns);
  INFO(to_string(mode) << ": " << log.report());
  CHECK(log.misses == 0);
}

TEST_CASE("a task that exits right after a flush is charged its whole runtime, once", "[.bpf]") {
  auto mode = GENERATE(bpf_attach_mode::tp_btf, bpf_attach_mode::raw_tp);
  auto fixture = fixture_in(mode);
  exit_log log;
  for (int i = 0; i < 30; ++i) {
    int quit[2];
    REQUIRE(pipe2(quit, O_NONBLOCK) == 0);
    child_process child([&] {
      char byte;
      while (read(quit[0], &byte, 1) != 1) {  // busy until told, then exits at once
      }
    });
    uint64_t start = proc_start_ticks(child.pid());
    child.go();
    std::this_thread::sleep_for(std::chrono::milliseconds(1 + i % 5));
    fixture.read();  // a flush in the middle of its slice
    (void)!write(quit[1], "q", 1);
    log.add(read_exit_and_reap(fixture, child, start), i);
    close(quit[0]);
    close(quit[1]);
  }
  record_figures("exit_after_flush", mode, log.largest_ns, 0);
  INFO(to_string(mode) << ":\n" << log.misses.str());
  CHECK(log.exact == log.children);
}

TEST_CASE("many short children are charged exactly, each and all together in their cgroup", "[.bpf]") {
  auto mode = GENERATE(bpf_attach_mode::tp_btf, bpf_attach_mode::raw_tp);
  auto paths = cgroup_paths::from_mounts();
  REQUIRE(paths.ok());
  std::filesystem::path dir =
      paths.value().root() / ("kepler-bpf-accuracy-" + std::to_string(getpid()) + "-" + std::string(to_string(mode)));
  std::filesystem::create_directory(dir);
  struct stat st {};
  REQUIRE(::stat(dir.c_str(), &st) == 0);
  uint64_t cgroup_id = st.st_ino;
  {
    auto fixture = fixture_in(mode);
    exit_log log;
    const int children = 100;
    for (int i = 0; i < children; ++i) {
      child_process child([] { spin_cpu(1'000'000); });
      uint64_t start = proc_start_ticks(child.pid());
      // Moved between two slices: the probe charges a slice to the cgroup the task is in when
      // the slice ends, while the kernel splits a slice at a move (bpf/README.md).
      wait_until_sleeping(child.pid());
      std::ofstream(dir / "cgroup.procs") << child.pid() << std::flush;
      child.go();
      auto charge = read_exit_and_reap(fixture, child, start);
      log.add(charge, i);  // exact, so nothing of it came after its exit report
    }
    // Everything the children ran in the cgroup (after their move) against the kernel's sum.
    uint64_t charged_ns = cgroup_cpu_ns(fixture.read(), cgroup_id);
    uint64_t usage_us = cgroup_usage_us(dir);
    record_figures("short_children", mode, log.largest_ns, 0);
    const uint64_t cgroup_difference_us =
        charged_ns / 1000 > usage_us ? charged_ns / 1000 - usage_us : usage_us - charged_ns / 1000;
    record_figures("short_children_cgroup_us", mode, cgroup_difference_us, 0);
    INFO(to_string(mode) << ": cgroup charged " << charged_ns << " ns, cpu.stat " << usage_us << " us\n"
                         << log.misses.str());
    CHECK(log.exact == children);
    CHECK(usage_us >= uint64_t(children) * 1000);
    // Under TSan a child's own TSan thread may be mid-slice when the child moves in: the probe
    // charges that whole slice to the new cgroup, the kernel only its part after the move.
    CHECK(charged_ns / 1000 >= usage_us);
    CHECK(charged_ns / 1000 <= usage_us + other_threads_allowance_ns() / 1000);
  }
  std::filesystem::remove(dir);
}
