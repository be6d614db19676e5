#pragma once
// A loaded and attached cpu_time probe with its reader, for the root-only [.bpf] tests.

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "bpf/cpu_time_loader.hpp"
#include "bpf/cpu_time_reader.hpp"
#include "test/bpf/probe_reads.hpp"

namespace kepler::testing {

struct probe_fixture {
  std::unique_ptr<cpu_time_probe> probe;
  std::unique_ptr<cpu_time_reader> reader;

  explicit probe_fixture(probe_options options = {}, reader_options reading = {}) {
    auto loaded = cpu_time_probe::load(options);
    INFO((loaded.ok() ? std::string() : loaded.error_message()));
    REQUIRE(loaded.ok());
    probe = std::move(loaded).value();
    auto created = cpu_time_reader::create(*probe, reading);
    INFO((created.ok() ? std::string() : created.error_message()));
    REQUIRE(created.ok());
    reader = std::move(created).value();
  }

  cpu_time_snapshot read() {
    auto snapshot = reader->read();
    INFO((snapshot.ok() ? std::string() : snapshot.error_message()));
    REQUIRE(snapshot.ok());
    return std::move(snapshot).value();
  }

  /// Makes the probe forget which task each CPU runs, as if it had missed their switch-ins (some
  /// kernels hide a few tasks' switches from tracepoints). Read-modify-write of the whole state:
  /// only for probes that gather nothing on the CPUs, whose other fields may then be stale.
  void forget_running_tasks() {
    std::vector<cpu_time_cpu_state> states(static_cast<std::size_t>(libbpf_num_possible_cpus()));
    static_assert(sizeof(cpu_time_cpu_state) % 8 == 0, "per-CPU values are 8-byte strided");
    uint32_t zero = 0;
    REQUIRE(bpf_map_lookup_elem(probe->maps().cpu_state, &zero, states.data()) == 0);
    for (auto& state : states) state.running_task = 0;
    REQUIRE(bpf_map_update_elem(probe->maps().cpu_state, &zero, states.data(), BPF_ANY) == 0);
  }

  /// Reads until a read reports the exit of `pid` started at `start_ticks`, which comes once
  /// its last thread has switched out for the last time, so the read holds its final totals
  /// (a reaped child may still be finishing on another CPU). Gives up after a second.
  cpu_time_snapshot read_until_exit(pid_t pid, uint64_t start_ticks) {
    for (int attempt = 0; attempt < 1000; ++attempt) {
      auto snapshot = read();
      if (count_exits(snapshot, pid, start_ticks) > 0) return snapshot;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    FAIL("no exit reported for pid " << pid);
    return {};
  }
};

}  // namespace kepler::testing
