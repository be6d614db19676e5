// Cost of eBPF CPU accounting (bpf/cpu_time.bpf.c) under a context-switch storm.
// Budgets (issue 4):
//   - program cost per sched_switch, from BPF run-time stats: ≤ 150 ns
//   - pipe ping-pong throughput with the probe attached vs detached: ≤ 3 % slower
//   - reading the maps: ≤ 0.2 µs per entry
// Program cost: each round loads every setup (as shipped, without per-CPU gathering, and an
// empty program with and without one clock read: the floor that BPF's run-time stats report
// for any program, their own clock reads included) and runs a ping-pong under it (`perf bench
// sched pipe` when perf works and the placement allows, else an own one); the cost per run
// comes from the stats.
// Throughput: blocks of round trips while the loaded probe's sched_switch program is attached
// and detached between blocks (detached, attached, attached, detached: drift within a quad
// cancels); the median of the per-quad ratios is reported with its 95 % confidence interval
// (many quads narrow it), as shipped, with the stats off, and for an empty program. Pinned, one
// persistent pair of processes plays every block; unpinned, each block is its own `perf bench
// sched pipe` run (fresh placement each time).
// Must run as root (or with CAP_BPF + CAP_PERFMON + CAP_SYS_ADMIN for the stats).
//
// placement: any (the scheduler's choice, which varies), same (both on CPU 0: every switch goes
// from one to the other, no idle in between) or apart (CPUs 0 and 1: every switch is to or
// from the idle task; perf cannot pin the two apart, so its program-cost storm is our own).
//
// Usage: bpf_switch_bench [rounds=5] [loops_per_round=200000] [map_entries=20000] [placement=any]
//                         [setups=shipped,stats-off,no-gather,empty,empty-clock]

#include <sched.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "bpf/cpu_time_loader.hpp"
#include "bpf/cpu_time_reader.hpp"

namespace {

using namespace kepler;

uint64_t now_ns(clockid_t clock = CLOCK_MONOTONIC) {
  timespec ts{};
  clock_gettime(clock, &ts);
  return uint64_t(ts.tv_sec) * 1'000'000'000u + uint64_t(ts.tv_nsec);
}

/// Where the two ping-pong processes run: anywhere, both on CPU 0 (every switch goes from one
/// to the other), or apart on CPUs 0 and 1 (every switch is to or from the idle task).
/// Unpinned, the scheduler sometimes puts both on one CPU and sometimes not, and a round trip
/// takes 7 or 50 us on the development VM: pinned runs compare like with like.
enum class placement { any, same_cpu, apart };
placement where = placement::any;
constexpr int pin_cpu = 0;

void pin_to(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu, &set);
  sched_setaffinity(0, sizeof set, &set);
}

/// µs per round trip from `perf bench sched pipe`, or < 0 when perf is unusable.
double perf_pipe_us(long loops) {
  std::string command = "perf bench sched pipe -l " + std::to_string(loops) + " 2>/dev/null";
  if (where == placement::same_cpu) command = "taskset -c " + std::to_string(pin_cpu) + " " + command;
  FILE* out = popen(command.c_str(), "r");
  if (!out) return -1;
  double us = -1;
  char line[256];
  while (std::fgets(line, sizeof line, out))
    if (std::strstr(line, "usecs/op")) us = std::atof(line);
  return pclose(out) == 0 ? us : -1;
}

/// Two processes playing ping-pong over pipes for as long as this object lives, placed as
/// `where` says; timed in blocks of round trips, so that the probe can be attached and detached
/// between blocks while the same pair keeps playing.
class ping_pong_pair {
 public:
  ping_pong_pair() {
    if (pipe(ping_) != 0 || pipe(pong_) != 0) std::exit(1);
    if (where != placement::any) pin_to(pin_cpu);
    child_ = fork();
    if (child_ == 0) {
      if (where == placement::apart) pin_to(1);
      close(ping_[1]);  // else its own copy keeps the read below from seeing the parent's close
      close(pong_[0]);
      char byte = 0;
      while (read(ping_[0], &byte, 1) == 1 && write(pong_[1], &byte, 1) == 1) {
      }
      _exit(0);
    }
  }
  ~ping_pong_pair() {
    for (int fd : {ping_[0], ping_[1], pong_[0], pong_[1]}) close(fd);  // the child reads EOF
    waitpid(child_, nullptr, 0);
    cpu_set_t all;
    CPU_ZERO(&all);
    for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) CPU_SET(cpu, &all);
    sched_setaffinity(0, sizeof all, &all);
  }
  ping_pong_pair(const ping_pong_pair&) = delete;
  ping_pong_pair& operator=(const ping_pong_pair&) = delete;

  double us_per_round_trip(long round_trips) {
    char byte = 0;
    uint64_t start = now_ns();
    for (long i = 0; i < round_trips; ++i)
      if (write(ping_[1], &byte, 1) != 1 || read(pong_[0], &byte, 1) != 1) std::exit(1);
    return double(now_ns() - start) / 1e3 / double(round_trips);
  }

 private:
  int ping_[2] = {-1, -1}, pong_[2] = {-1, -1};
  pid_t child_ = -1;
};

/// µs per round trip of our own ping-pong: two processes, one byte each way over pipes.
double own_pipe_us(long loops) {
  ping_pong_pair pair;
  return pair.us_per_round_trip(loops);
}

/// The median of `values` and a 95 % confidence interval for it from order statistics
/// (distribution-free: ranks n/2 ± 0.98·√n of the sorted values).
struct median_interval {
  double median, low, high;
};
median_interval median_with_interval(std::vector<double> values) {
  if (values.empty()) return {0, 0, 0};
  std::sort(values.begin(), values.end());
  double n = double(values.size()), spread = 0.98 * std::sqrt(n);
  auto at = [&](double rank) { return values[std::size_t(std::clamp(rank, 0.0, n - 1))]; };
  return {values[values.size() / 2], at(std::floor(n / 2 - spread)), at(std::ceil(n / 2 + spread))};
}

/// One way of running a program on sched_switch, for its cost per run.
struct setup {
  const char* key;  ///< for choosing setups on the command line
  const char* name;
  bool stats, gather, empty = false, empty_reads_clock = false;
  uint64_t runs = 0, run_ns = 0, storm_ns = 0;
};

/// An empty program on sched_switch (`r0 = 0; exit`): what any program costs there, the
/// tracepoint's dispatch and the run-time stats' own clock reads, measured like the probe.
class empty_switch_program {
 public:
  explicit empty_switch_program(bool read_clock, bool stats = true) {
    bpf_insn code[] = {{BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_ktime_get_ns},
                       {BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0},
                       {BPF_JMP | BPF_EXIT, 0, 0, 0, 0}};
    program_ = bpf_prog_load(BPF_PROG_TYPE_RAW_TRACEPOINT, "empty_switch", "GPL", code + (read_clock ? 0 : 1),
                             read_clock ? 3 : 2, nullptr);
    link_ = program_ < 0 ? -1 : bpf_raw_tracepoint_open("sched_switch", program_);
    if (stats) stats_ = bpf_enable_stats(BPF_STATS_RUN_TIME);
    if (link_ < 0) std::fprintf(stderr, "cannot attach the empty program: %s\n", std::strerror(errno));
  }
  ~empty_switch_program() {
    for (int fd : {link_, program_, stats_})
      if (fd >= 0) close(fd);
  }
  empty_switch_program(const empty_switch_program&) = delete;
  empty_switch_program& operator=(const empty_switch_program&) = delete;
  bool attached() const { return link_ >= 0; }
  bpf_program_stats stats() const {
    bpf_prog_info info{};
    __u32 length = sizeof info;
    if (program_ < 0 || bpf_obj_get_info_by_fd(program_, &info, &length) != 0) return {};
    return {info.run_cnt, info.run_time_ns};
  }

 private:
  int program_ = -1, link_ = -1, stats_ = -1;
};

std::unique_ptr<cpu_time_probe> load(const setup& how) {
  probe_options options;
  options.run_time_stats = how.stats;
  options.gather_on_cpu = how.gather;
  auto probe = cpu_time_probe::load(options);
  if (!probe) {
    std::fprintf(stderr, "cannot load the probe: %s\n", probe.error_message().c_str());
    std::exit(1);
  }
  return std::move(probe).value();
}

/// Plants `count` synthetic processes (and count / 20 cgroups) and times steady-state reads.
void map_read_cost(std::size_t count) {
  probe_options options;
  options.max_processes = uint32_t(count + 4096);
  auto loaded = cpu_time_probe::load(options);
  if (!loaded) return;
  auto& probe = *loaded.value();
  reader_options reading;
  reading.sweep_every_reads = 0;  // the planted tgids do not exist: keep them
  auto reader = std::move(cpu_time_reader::create(probe, reading)).value();
  int cpus = libbpf_num_possible_cpus();
  std::vector<uint64_t> per_cpu(std::size_t(cpus), 1000);
  uint32_t max = probe.maps().max_processes;
  for (std::size_t i = 0; i < count; ++i) {
    cpu_time_process_key key{uint32_t(4'000'000 + i), 0, 1'000'000 + i};
    cpu_time_process_meta meta{};
    std::snprintf(meta.comm, sizeof meta.comm, "planted-%zu", i % 1000);
    meta.cgroup_id = 1'000'000 + i % (count / 20 + 1);
    meta.slot = uint32_t(max - 1 - i);  // from the top: the probe hands out fresh slots from 0
    bpf_map_update_elem(probe.maps().processes, &key, &meta, BPF_ANY);
    for (uint32_t cpu = 0; cpu < uint32_t(cpus); ++cpu) {
      uint32_t index = cpu * max + meta.slot;
      bpf_map_update_elem(probe.maps().process_cpu_ns, &index, &per_cpu[cpu], BPF_ANY);
    }
    if (i % 20 == 0) bpf_map_update_elem(probe.maps().cgroups, &meta.cgroup_id, per_cpu.data(), BPF_ANY);
  }
  cpu_time_snapshot snapshot;
  reader->read(snapshot);  // warm: buffers and output vectors sized
  constexpr int reads = 20;
  uint64_t wall = now_ns(), cpu = now_ns(CLOCK_THREAD_CPUTIME_ID);
  for (int i = 0; i < reads; ++i) reader->read(snapshot);
  wall = now_ns() - wall;
  cpu = now_ns(CLOCK_THREAD_CPUTIME_ID) - cpu;
  std::size_t entries = snapshot.processes.size() + snapshot.cgroups.size();
  std::printf(
      "map read: %zu processes + %zu cgroups, %d CPUs: %.2f ms per read (CPU %.2f ms), "
      "%.3f us per entry (CPU %.3f us)  [budget <= 0.2 us]  flush %s\n",
      snapshot.processes.size(), snapshot.cgroups.size(), cpus, double(wall) / reads / 1e6, double(cpu) / reads / 1e6,
      double(wall) / reads / 1e3 / double(entries), double(cpu) / reads / 1e3 / double(entries),
      reader->flushes() ? "on" : "off");
}

}  // namespace

/// Throughput with a program attached vs detached (`attach` switches): blocks in the order
/// detached, attached, attached, detached (drift within a quad cancels), one ratio per quad.
/// Unpinned, each block is a `perf bench sched pipe` run of its own, so that each gets the
/// scheduler's placement afresh (a persistent pair keeps one placement, which decides the
/// round trip more than anything measured here); pinned, the persistent pair plays.
void throughput_cost(const char* name, const std::function<bool(bool)>& attach, int quads, long block, bool perf) {
  std::optional<ping_pong_pair> pair;
  if (!perf) pair.emplace();
  auto play = [&] { return pair ? pair->us_per_round_trip(block) : perf_pipe_us(block); };
  play();  // warm
  std::vector<double> ratios;
  double attached_sum = 0, detached_sum = 0;
  for (int quad = 0; quad < quads; ++quad) {
    double detached = 0, attached = 0;
    for (bool attached_now : {false, true, true, false}) {
      if (!attach(attached_now)) {
        std::fprintf(stderr, "cannot attach the probe again: %s\n", std::strerror(errno));
        std::exit(1);
      }
      (attached_now ? attached : detached) += play();
    }
    ratios.push_back(attached / detached);
    attached_sum += attached;
    detached_sum += detached;
  }
  auto [median, low, high] = median_with_interval(ratios);
  std::printf(
      "%-30s %+.2f %% per round trip vs detached (median of %d quads; 95 %% CI %+.2f .. %+.2f %%); "
      "mean round trip %.3f us detached, %.3f us attached\n",
      name, (median - 1) * 100, quads, (low - 1) * 100, (high - 1) * 100, detached_sum / (2.0 * quads),
      attached_sum / (2.0 * quads));
}

int main(int argc, char** argv) {
  int rounds = argc > 1 ? std::atoi(argv[1]) : 5;
  long loops = argc > 2 ? std::atol(argv[2]) : 200'000;
  std::size_t entries = argc > 3 ? std::size_t(std::atol(argv[3])) : 20'000;
  std::string place = argc > 4 ? argv[4] : "any";
  where = place == "same" ? placement::same_cpu : place == "apart" ? placement::apart : placement::any;
  std::string chosen = argc > 5 ? "," + std::string(argv[5]) + "," : "";
  set_bpf_log_callback({});

  bool perf = where != placement::apart && perf_pipe_us(1000) > 0;  // perf cannot pin the two apart
  auto ping_pong = [&] { return perf ? perf_pipe_us(loops) : own_pipe_us(loops); };
  const char* placed = where == placement::same_cpu ? "both on CPU 0"
                       : where == placement::apart  ? "pinned to CPUs 0 and 1"
                                                    : "unpinned";
  std::printf("program cost: %s, %d rounds of %ld round trips, %ld CPUs online, %s\n",
              perf ? "perf bench sched pipe" : "own pipe ping-pong", rounds, loops, sysconf(_SC_NPROCESSORS_ONLN),
              placed);
  std::vector<setup> setups{{"shipped", "as shipped (gathering, stats on)", true, true},
                            {"no-gather", "no cgroup gathering (every slice to the map)", true, false},
                            {"empty", "empty program (floor: dispatch + stats)", true, false, true},
                            {"empty-clock", "empty program + one bpf_ktime_get_ns", true, false, true, true}};
  std::erase_if(setups, [&](const setup& how) {
    return !chosen.empty() && chosen.find("," + std::string(how.key) + ",") == std::string::npos;
  });
  for (int round = 0; round < rounds; ++round) {
    for (auto& how : setups) {
      std::unique_ptr<cpu_time_probe> probe;
      std::unique_ptr<empty_switch_program> empty;
      if (how.empty) empty = std::make_unique<empty_switch_program>(how.empty_reads_clock);
      else probe = load(how);
      auto stats = [&] { return empty ? empty->stats() : probe->program_stats(); };
      auto before = stats();
      uint64_t start = now_ns();
      ping_pong();
      how.storm_ns += now_ns() - start;
      auto after = stats();
      how.runs += after.run_count - before.run_count;
      how.run_ns += after.run_time_ns - before.run_time_ns;
    }
  }
  for (const auto& how : setups)
    std::printf("  %-46s %.1f ns per program run over %llu runs (%.0f runs/s)\n", how.name,
                double(how.run_ns) / double(std::max<uint64_t>(how.runs, 1)), (unsigned long long)how.runs,
                double(how.runs) * 1e9 / double(std::max<uint64_t>(how.storm_ns, 1)));
  std::printf("budget: <= 150 ns per sched_switch run\n");

  int quads = rounds * 8;
  long block = std::max(loops / 20, 100L);
  bool perf_blocks = perf && where == placement::any;
  std::printf("throughput: %s, %s, %d quads of blocks of %ld round trips\n",
              perf_blocks ? "perf bench sched pipe per block" : "own pipe ping-pong", placed, quads, block);
  auto wanted = [&](const char* key) {
    return chosen.empty() || chosen.find("," + std::string(key) + ",") != std::string::npos;
  };
  for (bool stats : {true, false}) {
    if (!wanted(stats ? "shipped" : "stats-off")) continue;
    probe_options options;
    options.run_time_stats = stats;
    auto probe = std::move(cpu_time_probe::load(options)).value();
    throughput_cost(
        stats ? "as shipped (stats on)" : "stats off",
        [&](bool attached) { return probe->set_switch_attached(attached); }, quads, block, perf_blocks);
  }
  if (wanted("empty")) {  // the floor of any program on sched_switch: the tracepoint's dispatch
    std::unique_ptr<empty_switch_program> empty;
    throughput_cost(
        "empty program, stats off",
        [&](bool attached) {
          empty = attached ? std::make_unique<empty_switch_program>(false, false) : nullptr;
          return !attached || empty->attached();
        },
        quads, block, perf_blocks);
  }
  std::printf("budget: <= +3 %% per round trip\n");
  map_read_cost(entries);
  return 0;
}
