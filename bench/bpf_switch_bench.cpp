// Cost of eBPF CPU accounting (bpf/cpu_time.bpf.c) under a context-switch storm.
// Budgets (issue 4):
//   - program cost per sched_switch, from BPF run-time stats: ≤ 150 ns
//   - pipe ping-pong throughput with the probe attached vs detached: ≤ 3 % slower
//   - reading the maps: ≤ 0.2 µs per entry
// Each ping-pong round times detached, then attached as shipped / attached without run-time
// stats (the program alone) / attached without per-CPU gathering, then detached again; each
// attached figure is compared with the mean of its round's two detached ones (machine speed
// drifts between rounds far more than within one), and the median of those ratios is
// reported with their range. The program cost comes from the stats (they are on in those
// setups); it includes the stats' own clock reads. Uses `perf bench sched pipe` when perf
// works, else an own pipe ping-pong.
// Must run as root (or with CAP_BPF + CAP_PERFMON + CAP_SYS_ADMIN for the stats).
//
// With pin_cpu >= 0 both ping-pong processes share that CPU: every switch goes from one to the
// other (no idle in between), the worst case for per-CPU gathering.
//
// Usage: bpf_switch_bench [rounds=5] [loops_per_round=200000] [map_entries=20000] [pin_cpu=-1]

#include <sched.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <cstdio>
#include <cstdlib>
#include <cstring>
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

int pin_cpu = -1;

/// µs per round trip from `perf bench sched pipe`, or < 0 when perf is unusable.
double perf_pipe_us(long loops) {
  std::string command = "perf bench sched pipe -l " + std::to_string(loops) + " 2>/dev/null";
  if (pin_cpu >= 0) command = "taskset -c " + std::to_string(pin_cpu) + " " + command;
  FILE* out = popen(command.c_str(), "r");
  if (!out) return -1;
  double us = -1;
  char line[256];
  while (std::fgets(line, sizeof line, out))
    if (std::strstr(line, "usecs/op")) us = std::atof(line);
  return pclose(out) == 0 ? us : -1;
}

/// µs per round trip of our own ping-pong: two processes, one byte each way over pipes.
double own_pipe_us(long loops) {
  int ping[2], pong[2];
  if (pipe(ping) != 0 || pipe(pong) != 0) return -1;
  if (pin_cpu >= 0) {  // inherited by the child
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(pin_cpu, &set);
    sched_setaffinity(0, sizeof set, &set);
  }
  pid_t child = fork();
  char byte = 0;
  if (child == 0) {
    for (long i = 0; i < loops; ++i)
      if (read(ping[0], &byte, 1) != 1 || write(pong[1], &byte, 1) != 1) _exit(1);
    _exit(0);
  }
  uint64_t start = now_ns();
  for (long i = 0; i < loops; ++i)
    if (write(ping[1], &byte, 1) != 1 || read(pong[0], &byte, 1) != 1) break;
  uint64_t elapsed = now_ns() - start;
  waitpid(child, nullptr, 0);
  if (pin_cpu >= 0) {
    cpu_set_t all;
    CPU_ZERO(&all);
    for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) CPU_SET(cpu, &all);
    sched_setaffinity(0, sizeof all, &all);
  }
  for (int fd : {ping[0], ping[1], pong[0], pong[1]}) close(fd);
  return double(elapsed) / 1e3 / double(loops);
}

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  return values.empty() ? 0 : values[values.size() / 2];
}

/// One way of running the probe; each is timed in every round.
struct setup {
  const char* name;
  bool attached, stats, gather, empty = false, empty_reads_clock = false;
  std::vector<double> us_per_round_trip = {}, vs_detached = {};  ///< per round
  uint64_t runs = 0, run_ns = 0, storm_ns = 0;
};

/// An empty program on sched_switch (`r0 = 0; exit`): what any program costs there, the
/// tracepoint's dispatch and the run-time stats' own clock reads, measured like the probe.
class empty_switch_program {
 public:
  explicit empty_switch_program(bool read_clock) {
    bpf_insn code[] = {{BPF_JMP | BPF_CALL, 0, 0, 0, BPF_FUNC_ktime_get_ns},
                       {BPF_ALU64 | BPF_MOV | BPF_K, BPF_REG_0, 0, 0, 0},
                       {BPF_JMP | BPF_EXIT, 0, 0, 0, 0}};
    program_ = bpf_prog_load(BPF_PROG_TYPE_RAW_TRACEPOINT, "empty_switch", "GPL", code + (read_clock ? 0 : 1),
                             read_clock ? 3 : 2, nullptr);
    link_ = program_ < 0 ? -1 : bpf_raw_tracepoint_open("sched_switch", program_);
    stats_ = bpf_enable_stats(BPF_STATS_RUN_TIME);
    if (link_ < 0) std::fprintf(stderr, "cannot attach the empty program: %s\n", std::strerror(errno));
  }
  ~empty_switch_program() {
    for (int fd : {link_, program_, stats_})
      if (fd >= 0) close(fd);
  }
  empty_switch_program(const empty_switch_program&) = delete;
  empty_switch_program& operator=(const empty_switch_program&) = delete;
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
  std::printf("map read: %zu processes + %zu cgroups, %d CPUs: %.2f ms per read (CPU %.2f ms), "
              "%.3f us per entry (CPU %.3f us)  [budget <= 0.2 us]  flush %s\n",
              snapshot.processes.size(), snapshot.cgroups.size(), cpus, double(wall) / reads / 1e6,
              double(cpu) / reads / 1e6, double(wall) / reads / 1e3 / double(entries),
              double(cpu) / reads / 1e3 / double(entries), reader->flushes() ? "on" : "off");
}

}  // namespace

int main(int argc, char** argv) {
  int rounds = argc > 1 ? std::atoi(argv[1]) : 5;
  long loops = argc > 2 ? std::atol(argv[2]) : 200'000;
  std::size_t entries = argc > 3 ? std::size_t(std::atol(argv[3])) : 20'000;
  pin_cpu = argc > 4 ? std::atoi(argv[4]) : -1;
  set_bpf_log_callback({});

  bool perf = perf_pipe_us(1000) > 0;
  auto ping_pong = [&] { return perf ? perf_pipe_us(loops) : own_pipe_us(loops); };
  std::printf("ping-pong: %s, %d rounds of %ld round trips, %ld CPUs online, %s\n",
              perf ? "perf bench sched pipe" : "own pipe ping-pong", rounds, loops,
              sysconf(_SC_NPROCESSORS_ONLN),
              pin_cpu >= 0 ? ("both on CPU " + std::to_string(pin_cpu)).c_str() : "unpinned");

  std::vector<setup> setups{{"detached", false, false, false},
                            {"attached (as shipped: gathering, stats on)", true, true, true},
                            {"attached, stats off", true, false, true},
                            {"attached, no cgroup gathering (every slice to the map)", true, true, false},
                            {"empty program (floor: dispatch + stats)", true, true, false, true},
                            {"empty program + one bpf_ktime_get_ns", true, true, false, true, true}};
  for (int round = 0; round < rounds; ++round) {
    std::printf("  round %d:", round + 1);
    for (auto& how : setups) {
      if (!how.attached) {
        how.us_per_round_trip.push_back(ping_pong());
      } else {
        std::unique_ptr<cpu_time_probe> probe;
        std::unique_ptr<empty_switch_program> empty;
        if (how.empty)
          empty = std::make_unique<empty_switch_program>(how.empty_reads_clock);
        else
          probe = load(how);
        auto stats = [&] { return empty ? empty->stats() : probe->program_stats(); };
        auto before = stats();
        uint64_t start = now_ns();
        how.us_per_round_trip.push_back(ping_pong());
        how.storm_ns += now_ns() - start;
        auto after = stats();
        how.runs += after.run_count - before.run_count;
        how.run_ns += after.run_time_ns - before.run_time_ns;
      }
      std::printf(" %.3f", how.us_per_round_trip.back());
    }
    double detached_after = ping_pong();
    double detached = (setups[0].us_per_round_trip.back() + detached_after) / 2;
    for (auto& how : setups) how.vs_detached.push_back(how.us_per_round_trip.back() / detached);
    std::printf(" | detached again %.3f us per round trip\n", detached_after);
  }
  for (const auto& how : setups) {
    if (!how.attached) continue;
    auto [low, high] = std::minmax_element(how.vs_detached.begin(), how.vs_detached.end());
    std::printf("%-50s %+.1f %% per round trip vs detached (median of rounds; range %+.1f .. %+.1f %%)",
                how.name, (median(how.vs_detached) - 1) * 100, (*low - 1) * 100, (*high - 1) * 100);
    if (how.runs)
      std::printf(", %.1f ns per program run over %llu runs (%.0f runs/s)", double(how.run_ns) / double(how.runs),
                  (unsigned long long)how.runs, double(how.runs) * 1e9 / double(how.storm_ns));
    std::printf("\n");
  }
  std::printf("budgets: <= 150 ns per sched_switch run, <= +3 %% per round trip\n");
  map_read_cost(entries);
  return 0;
}
