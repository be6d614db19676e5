// Root-only tests ([.bpf]) of exits: short-lived processes keep their CPU time, each exit is
// reported once, and entries are retired one read after their exit.
#include <pthread.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <thread>
#include <vector>

#include "test/bpf/probe_fixture.hpp"
#include "test/bpf/probe_reads.hpp"

using namespace kepler;
using namespace kepler::testing;
using namespace std::chrono_literals;

namespace {

/// Forks a child that burns 20 ms of CPU and exits before anything reads the maps; checks it
/// is reported once, with its exit and all its CPU time, and then retired.
void check_short_lived_child(probe_fixture& fixture) {
  fixture.read();  // baseline: the child does not exist yet
  child_process child([] { spin_cpu(20'000'000); });
  uint64_t start = proc_start_ticks(child.pid());
  child.go();
  siginfo_t exited{};
  REQUIRE(waitid(P_PID, id_t(child.pid()), &exited, WEXITED | WNOWAIT) == 0);

  auto first = fixture.read_until_exit(child.pid(), start);
  uint64_t ran_ns = proc_exec_ns(child.pid());  // final: its last switch is behind it
  child.wait();
  auto second = fixture.read();
  CHECK(count_exits(first, child.pid(), start) == 1);
  CHECK(count_exits(second, child.pid(), start) == 0);
  auto seen = find_process(first, child.pid(), start);
  REQUIRE(seen);  // reported with its exit, its last slice included
  INFO("cpu " << seen->cpu_ns << " ns, ran " << ran_ns << " ns");
  CHECK(seen->cpu_ns >= 15'000'000);
  CHECK(seen->cpu_ns >= ran_ns);  // schedstat is the main thread's; the probe counts them all
  CHECK(seen->cpu_ns <= ran_ns + other_threads_allowance_ns());
  CHECK_FALSE(find_process(second, child.pid(), start));  // retired after its report
}

void* exit_at_once(void*) {
  spin_cpu(2'000'000);
  return nullptr;
}

}  // namespace

TEST_CASE("a process that starts and exits between two reads keeps its CPU time (tp_btf)", "[.bpf]") {
  probe_fixture fixture;
  REQUIRE(fixture.probe->mode() == bpf_attach_mode::tp_btf);
  check_short_lived_child(fixture);
}

TEST_CASE("the raw_tp variant counts short-lived processes the same way", "[.bpf]") {
  probe_options options;
  options.force_mode = bpf_attach_mode::raw_tp;
  probe_fixture fixture(options);
  REQUIRE(fixture.probe->mode() == bpf_attach_mode::raw_tp);
  check_short_lived_child(fixture);
  std::this_thread::sleep_for(50ms);
  auto snapshot = fixture.read();
  uint64_t busy = 0;
  for (const auto& cgroup : snapshot.cgroups) busy += cgroup.cpu_ns;
  CHECK(busy + snapshot.idle_ns > 40'000'000);  // ≥ 50 ms on at least one CPU, busy or idle
  CHECK(fixture.probe->program_stats().run_count > 0);
}

TEST_CASE("without per-CPU gathering every slice still reaches the maps", "[.bpf]") {
  probe_options options;
  options.gather_on_cpu = false;
  probe_fixture fixture(options);
  check_short_lived_child(fixture);
}

TEST_CASE("a thread's exit is not a process exit; the group's exit is reported once", "[.bpf]") {
  probe_fixture fixture;
  int thread_done[2], proceed[2];
  REQUIRE(pipe(thread_done) == 0);
  REQUIRE(pipe(proceed) == 0);
  child_process child([&] {
    std::thread([] { spin_cpu(1'000'000); }).join();  // one thread exits, the group lives
    char go;
    (void)!write(thread_done[1], "t", 1);
    (void)!read(proceed[0], &go, 1);
    // Then several threads still running when the group exits: each may see live == 0.
    std::vector<pthread_t> threads(4);
    for (auto& thread : threads) pthread_create(&thread, nullptr, exit_at_once, nullptr);
    spin_cpu(1'000'000);
    // exit_group while the threads spin; the raw system call, since a sanitizer's _exit would
    // first report the spinning threads as leaked.
    syscall(SYS_exit_group, 0);
  });
  uint64_t start = proc_start_ticks(child.pid());
  child.go();
  char byte;
  REQUIRE(read(thread_done[0], &byte, 1) == 1);
  auto during = fixture.read();
  // The thread's exit alone must not report the process as gone.
  CHECK(count_exits(during, child.pid(), start) == 0);
  (void)!write(proceed[1], "p", 1);
  child.wait();
  auto after = fixture.read_until_exit(child.pid(), start);
  CHECK(count_exits(after, child.pid(), start) == 1);
  CHECK(count_exits(fixture.read(), child.pid(), start) == 0);  // reported once
  for (int fd : {thread_done[0], thread_done[1], proceed[0], proceed[1]}) close(fd);
}

TEST_CASE("an entry whose exit event was lost is retired by the liveness sweep", "[.bpf]") {
  reader_options reading;
  reading.sweep_every_reads = 1;
  probe_fixture fixture({}, reading);
  child_process child([] {});
  child.go();
  child.wait();
  // Plant an entry for the dead child as if its exit event had been dropped.
  const auto& maps = fixture.probe->maps();
  cpu_time_process_key key{uint32_t(child.pid()), 0, 42'000'000'000};
  cpu_time_process_meta meta{};
  meta.slot = maps.max_processes - 1;  // the probe hands out fresh slots from 0
  REQUIRE(bpf_map_update_elem(maps.processes, &key, &meta, BPF_NOEXIST) == 0);
  int cpus = libbpf_num_possible_cpus();
  for (uint32_t cpu = 0; cpu < uint32_t(cpus); ++cpu) {
    uint32_t index = cpu * maps.max_processes + meta.slot;
    uint64_t ns = 1'000;
    REQUIRE(bpf_map_update_elem(maps.process_cpu_ns, &index, &ns, BPF_ANY) == 0);
  }

  auto matches = [&](const cpu_time_snapshot& snapshot) {
    for (const auto& p : snapshot.processes)
      if (p.tgid == key.tgid && p.start_ns == key.start_ns) return p.cpu_ns;
    return uint64_t{0};
  };
  // The sweep first finds this process in the map (host pid namespace check): make sure it
  // has been switched out at least once since the probe was attached.
  std::this_thread::sleep_for(10ms);
  auto first = fixture.read();  // reported, found dead, deleted
  CHECK(matches(first) == uint64_t(cpus) * 1'000);
  CHECK(fixture.reader->swept() >= 1);
  auto second = fixture.read();
  CHECK(matches(second) == 0);
  auto third = fixture.read();
  // Our own, live entry survives every sweep.
  auto self = find_process(third, getpid(), proc_start_ticks(getpid()));
  CHECK(self);
}
