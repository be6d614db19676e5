// The bpf.enabled decision for every mode and load outcome.
#include "bpf/cpu_time_source.hpp"

#include <catch2/catch.hpp>

using namespace kepler;

namespace {

const result<void> loaded;
const result<void> failed = make_error("loading the programs failed: Operation not permitted");

}  // namespace

TEST_CASE("bpf.enabled false never loads the probe and says CPU time comes from /proc") {
  CHECK_FALSE(wants_probe(bpf_mode::off));
  auto choice = choose_cpu_time_source(bpf_mode::off, failed);
  CHECK_FALSE(choice.use_probe);
  CHECK_FALSE(choice.fatal);
  CHECK_FALSE(choice.warning);
  CHECK(choice.message == "bpf.enabled is false: CPU time from /proc");
}

TEST_CASE("bpf.enabled auto uses the probe when it loads, else falls back to /proc with a warning") {
  CHECK(wants_probe(bpf_mode::automatic));
  auto ok = choose_cpu_time_source(bpf_mode::automatic, loaded);
  CHECK(ok.use_probe);
  CHECK_FALSE(ok.fatal);
  CHECK(ok.message.empty());
  auto fallback = choose_cpu_time_source(bpf_mode::automatic, failed);
  CHECK_FALSE(fallback.use_probe);
  CHECK_FALSE(fallback.fatal);
  CHECK(fallback.warning);
  CHECK(fallback.message ==
        "eBPF CPU accounting unavailable (loading the programs failed: Operation not permitted); "
        "falling back to /proc (procfs mode, kepler_bpf_up 0)");
}

TEST_CASE("bpf.enabled true uses the probe, and a probe that cannot run stops the daemon") {
  CHECK(wants_probe(bpf_mode::required));
  CHECK(choose_cpu_time_source(bpf_mode::required, loaded).use_probe);
  auto choice = choose_cpu_time_source(bpf_mode::required, failed);
  CHECK_FALSE(choice.use_probe);
  CHECK(choice.fatal);
  CHECK(choice.message ==
        "bpf.enabled is true but the eBPF probe cannot run: loading the programs failed: Operation not permitted");
}
