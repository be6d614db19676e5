#include "actors/engine_actor.hpp"

#include <catch2/catch.hpp>

#include "test/support/process_info.hpp"

#include "test/support/caf_fixture.hpp"

using namespace kepler;
using namespace std::chrono_literals;

namespace {

/// An energy source that gains 1 J per request.
struct counting_source_state {
  uint64_t total_uj = 0;
};
energy_source_actor::behavior_type counting_source(
    energy_source_actor::stateful_pointer<counting_source_state> self) {
  return {[=](caf::get_atom) {
    self->state.total_uj += 1'000'000;
    return energy_reading{"/p0", self->state.total_uj, self->state.total_uj, 0, 1,
                          std::chrono::duration_cast<std::chrono::nanoseconds>(
                              self->clock().now().time_since_epoch()).count(), 0};
  }};
}

/// A source whose read hangs: it accepts the request and never answers.
struct silent_source_state {
  std::vector<caf::typed_response_promise<energy_reading>> pending;
};
energy_source_actor::behavior_type silent_source(
    energy_source_actor::stateful_pointer<silent_source_state> self) {
  return {[=](caf::get_atom) -> caf::result<energy_reading> {
    self->state.pending.push_back(self->make_response_promise<energy_reading>());
    return self->state.pending.back();
  }};
}

/// A CPU source whose one process uses half the node's busy time every request.
struct fake_cpu_state {
  uint64_t ticks = 0;
};
cpu_source_actor::behavior_type fake_cpu(cpu_source_actor::stateful_pointer<fake_cpu_state> self) {
  return {[=](caf::get_atom) {
    self->state.ticks += 100;
    auto table = std::make_shared<process_table>();
    table->node.user = self->state.ticks;
    table->node.idle = self->state.ticks;
    table->ns_per_tick = 10'000'000;
    table->uptime_ns = self->state.ticks * 2 * 10'000'000;
    auto info = std::make_shared<process_info>(testing::regular_process("burner", "/bin/burner"));
    table->processes.push_back(process_sample{{42, 0}, self->state.ticks * 10'000'000 / 2, info});
    cpu_sample sample;
    sample.table = table;
    return sample;
  }};
}

struct sink_state {
  std::vector<snapshot_ptr> received;
};
caf::behavior collecting_sink(caf::stateful_actor<sink_state>* self) {
  return {[=](const snapshot_ptr& snap) { self->state.received.push_back(snap); }};
}

std::vector<snapshot_ptr>& received(const caf::actor& sink) {
  return dynamic_cast<caf::stateful_actor<sink_state>&>(*caf::actor_cast<caf::abstract_actor*>(sink))
      .state.received;
}

}  // namespace

TEST_CASE("a source that misses its deadline is marked down without blocking the interval") {
  testing::caf_fixture fix;
  auto& sys = fix.system();
  auto live = sys.spawn(counting_source);
  auto hung = sys.spawn(silent_source);
  auto cpu = sys.spawn(fake_cpu);
  auto sink = sys.spawn(collecting_sink);

  engine_config config;
  config.zones = {{"package", 0, "/p0", 0}, {"dram", 0, "/d0", 0}};
  config.energy_sources = {{live, "rapl", "package-0"}, {hung, "rapl", "dram-0"}};
  config.cpu_source = cpu;
  config.sinks = {sink};
  config.interval = 1s;
  config.deadline = 800ms;
  config.terminated = terminated_policy{-1, 0, 60'000'000'000};
  config.stats = std::make_shared<actor_stats>();
  auto engine = sys.spawn(attribution_engine, config);

  fix.run();
  CHECK(received(sink).empty());  // the round waits for the hung source until the deadline
  fix.advance(800ms);
  REQUIRE(received(sink).size() == 1);
  auto first = received(sink).back();
  REQUIRE(first->sources.size() == 3);
  CHECK(first->sources[0].up);
  CHECK_FALSE(first->sources[1].up);
  CHECK(first->sources[1].errors == 1);
  CHECK(first->sources[2].up);

  fix.advance(200ms);  // the next interval starts on time
  fix.advance(800ms);
  REQUIRE(received(sink).size() == 2);
  auto second = received(sink).back();
  CHECK(second->sources[1].errors == 2);
  CHECK(second->zones[0].total_uj == 1'000'000);  // the live zone advanced by its reading
  CHECK(second->zones[0].active_uj == 500'000);
  CHECK(second->zones[1].total_uj == 0);
  REQUIRE(second->running.size() == 1);
  CHECK(second->running_energy_uj[0] == 250'000);  // half of the node's busy time
  CHECK(second->zones[0].unattributed_uj == 250'000);

  fix.shutdown(engine, live, hung, cpu, sink);
}
