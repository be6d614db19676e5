#pragma once
// A loaded and attached cpu_time probe with its reader, for the root-only [.bpf] tests.

#include <catch2/catch.hpp>
#include <memory>
#include <string>

#include "bpf/cpu_time_loader.hpp"
#include "bpf/cpu_time_reader.hpp"

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
};

}  // namespace kepler::testing
