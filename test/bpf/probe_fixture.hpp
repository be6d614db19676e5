#pragma once
// A loaded and attached cpu_time probe with its reader, for the root-only [.bpf] tests.

#include <catch2/catch.hpp>
#include <chrono>
#include <memory>
#include <string>
#include <thread>

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
