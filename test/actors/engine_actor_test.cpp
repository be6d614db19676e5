#include "actors/engine_actor.hpp"
#include "actors/engine_supervisor.hpp"

#include <algorithm>
#include <map>

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
energy_source_actor::behavior_type counting_source(energy_source_actor::stateful_pointer<counting_source_state> self) {
  return {[=](caf::get_atom) {
    self->state.total_uj += 1'000'000;
    return energy_reading{
        "/p0",
        self->state.total_uj,
        self->state.total_uj,
        0,
        1,
        std::chrono::duration_cast<std::chrono::nanoseconds>(self->clock().now().time_since_epoch()).count(),
        0};
  }};
}

/// A source whose read hangs: it accepts the request and never answers.
struct silent_source_state {
  std::vector<caf::typed_response_promise<energy_reading>> pending;
};
energy_source_actor::behavior_type silent_source(energy_source_actor::stateful_pointer<silent_source_state> self) {
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
snapshot_sink::behavior_type collecting_sink(snapshot_sink::stateful_pointer<sink_state> self) {
  return {[=](const snapshot_ptr& snap) { self->state.received.push_back(snap); }};
}

std::vector<snapshot_ptr>& received(const snapshot_sink& sink) {
  using sink_impl = std::remove_pointer_t<snapshot_sink::stateful_pointer<sink_state>>;
  return dynamic_cast<sink_impl&>(*caf::actor_cast<caf::abstract_actor*>(sink)).state.received;
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

TEST_CASE("an engine that crashes is restarted on its books and its counters never go back") {
  testing::caf_fixture fix;
  auto& sys = fix.system();
  auto live = sys.spawn(counting_source);
  auto cpu = sys.spawn(fake_cpu);
  auto sink = sys.spawn(collecting_sink);
  auto rounds = std::make_shared<int>(0);

  engine_config config;
  config.zones = {{"package", 0, "/p0", 0}};
  config.energy_sources = {{live, "rapl", "package-0"}};
  config.cpu_source = cpu;
  config.sinks = {sink};
  config.interval = 1s;
  config.deadline = 800ms;
  config.terminated = terminated_policy{-1, 0, 60'000'000'000};
  config.stats = std::make_shared<actor_stats>();
  config.before_math = [rounds](const round_input&) {
    if (++*rounds == 3) throw std::runtime_error("a bug in the math");
  };
  auto supervisor = sys.spawn(engine_supervisor, config);

  fix.run();        // round 1 at 0 s: the baseline
  fix.advance(1s);  // round 2: 1 J
  REQUIRE(received(sink).size() == 2);
  fix.advance(1s);  // round 3 throws: the engine dies, no snapshot
  CHECK(received(sink).size() == 2);
  fix.advance(200ms);  // restarted after ~100 ms; its first round runs at once
  fix.advance(1s);
  REQUIRE(received(sink).size() == 4);

  auto restarts = config.stats->read();
  auto engine = std::find_if(restarts.begin(), restarts.end(), [](auto& a) { return a.actor == "engine"; });
  REQUIRE(engine != restarts.end());
  CHECK(engine->restarts == 1);
  std::vector<uint64_t> totals, process_uj;
  for (const auto& snap : received(sink)) {
    totals.push_back(snap->zones[0].total_uj);
    process_uj.push_back(snap->running.empty() ? 0 : snap->running_energy_uj[0]);
  }
  CHECK(totals == std::vector<uint64_t>{0, 1'000'000, 3'000'000, 4'000'000});  // round 3's joule is not lost
  CHECK(std::is_sorted(process_uj.begin(), process_uj.end()));
  CHECK(process_uj.back() > process_uj[1]);
  fix.shutdown(supervisor, live, cpu, sink);
}

TEST_CASE("rejected bridges across a sampler restart are counted with the zone's labels") {
  testing::caf_fixture fix;
  auto& sys = fix.system();
  auto cpu = sys.spawn(fake_cpu);
  auto sink = sys.spawn(collecting_sink);
  // Generation 1 at 900 J, then a restarted sampler (generation 2) reading 10 J of a 1,000 J
  // range 1 s later: a 110 J wrap, beyond 50 W.
  auto readings = std::make_shared<std::vector<energy_reading>>(
      std::vector<energy_reading>{{"/p0", 900'000'000, 0, 1'000'000'000, 1, 0, 0},
                                  {"/p0", 10'000'000, 0, 1'000'000'000, 2, 1'000'000'000, 0}});
  auto source = sys.spawn([readings](energy_source_actor::pointer) -> energy_source_actor::behavior_type {
    return {[readings](caf::get_atom) {
      auto next = readings->front();
      if (readings->size() > 1) readings->erase(readings->begin());
      return next;
    }};
  });
  engine_config config;
  config.zones = {{"package", 0, "/p0", 1'000'000'000, 50}};
  config.energy_sources = {{source, "rapl", "package-0"}};
  config.cpu_source = cpu;
  config.sinks = {sink};
  config.interval = 1s;
  config.deadline = 800ms;
  config.terminated = terminated_policy{-1, 0, 60'000'000'000};
  config.stats = std::make_shared<actor_stats>();
  auto engine = sys.spawn(attribution_engine, config);
  fix.run();
  fix.advance(1s);
  REQUIRE(received(sink).size() == 2);
  auto last = received(sink).back();
  CHECK(last->zones[0].total_uj == 0);
  std::map<std::string, uint64_t> by_reason;
  for (const auto& r : last->rejected) {
    CHECK(r.source == "rapl");
    CHECK(r.zone == "package-0");
    by_reason[r.reason] = r.count;
  }
  CHECK(by_reason == std::map<std::string, uint64_t>{{"implausible", 0}, {"out_of_range", 0}, {"reset", 1}});
  fix.shutdown(engine, source, cpu, sink);
}

TEST_CASE("a slow engine runs rounds back to back and its mailbox stays bounded") {
  testing::caf_fixture fix;
  auto& sys = fix.system();
  auto live = sys.spawn(counting_source);
  auto cpu = sys.spawn(fake_cpu);
  auto sink = sys.spawn(collecting_sink);
  engine_config config;
  config.zones = {{"package", 0, "/p0", 0}};
  config.energy_sources = {{live, "rapl", "package-0"}};
  config.cpu_source = cpu;
  config.sinks = {sink};
  config.interval = 1s;
  config.deadline = 800ms;
  config.terminated = terminated_policy{-1, 0, 60'000'000'000};
  config.stats = std::make_shared<actor_stats>();
  // The first ten rounds' math takes three intervals each: ticks fall due while it runs.
  auto slow_rounds = std::make_shared<int>(10);
  config.before_math = [&fix, slow_rounds](const round_input&) {
    if ((*slow_rounds)-- > 0) fix.pass_time(3s);
  };
  auto engine = sys.spawn(attribution_engine, config);
  fix.run();

  REQUIRE(received(sink).size() >= 10);
  for (const auto& snap : received(sink)) {
    auto engine_depth =
        std::find_if(snap->actors.begin(), snap->actors.end(), [](auto& a) { return a.actor == "engine"; });
    REQUIRE(engine_depth != snap->actors.end());
    // At most one tick and the last round's deadlines (one per request) wait: no backlog.
    CHECK(engine_depth->mailbox_depth <= 1 + 2);
  }
  // Each round read the source once: no reading was skipped or counted twice.
  CHECK(received(sink).back()->zones[0].total_uj == (received(sink).size() - 1) * 1'000'000);
  fix.shutdown(engine, live, cpu, sink);
}
