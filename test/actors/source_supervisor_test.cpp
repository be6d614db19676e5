#include "actors/source_supervisor.hpp"

#include <atomic>
#include <stdexcept>
#include <vector>

#include <catch2/catch.hpp>

#include "actors/energy_sampler_actor.hpp"
#include "test/support/caf_fixture.hpp"

using namespace kepler;
using namespace std::chrono_literals;

namespace {

/// Asks `target` for a reading and returns it, or the error text.
std::variant<energy_reading, std::string> ask(testing::caf_fixture& fix, const energy_source_actor& target) {
  std::variant<energy_reading, std::string> answer = std::string("no answer");
  auto handle = fix.self()->request(target, caf::infinite, caf::get_atom_v);
  fix.run();
  handle.receive([&](energy_reading& r) { answer = r; }, [&](caf::error& e) { answer = describe(e); });
  return answer;
}

supervisor_config<energy_reading> sampler_supervisor(std::shared_ptr<std::atomic<int>> reads_until_crash,
                                                     std::shared_ptr<actor_stats> stats) {
  supervisor_config<energy_reading> config;
  config.name = "rapl_sampler:package-0";
  config.stats = stats;
  config.random = [] { return 0.5; };  // no jitter: the first backoff is exactly 100 ms
  config.spawn_child = [reads_until_crash, stats](caf::local_actor* parent, uint64_t generation) {
    energy_sampler_config cfg;
    cfg.zone_id = "/p0";
    cfg.generation = generation;
    cfg.poll_period = 1h;
    cfg.read_energy = [reads_until_crash, generation]() -> result<uint64_t> {
      if (generation == 1 && --*reads_until_crash < 0) throw std::runtime_error("sensor exploded");
      return uint64_t{5'000'000};
    };
    return energy_source_actor{parent->spawn(energy_sampler, cfg)};
  };
  return config;
}

}  // namespace

TEST_CASE("a sampler that throws is restarted with backoff and answers again") {
  testing::caf_fixture fix;
  auto stats = std::make_shared<actor_stats>();
  auto reads = std::make_shared<std::atomic<int>>(2);  // baseline + one request, then it throws
  auto supervisor = fix.system().spawn(source_supervisor<energy_reading>, sampler_supervisor(reads, stats));
  fix.run();

  auto first = ask(fix, supervisor);
  REQUIRE(std::holds_alternative<energy_reading>(first));
  CHECK(std::get<energy_reading>(first).generation == 1);

  auto crashed = ask(fix, supervisor);  // this read throws: the child dies
  REQUIRE(std::holds_alternative<std::string>(crashed));
  fix.run();
  auto restarting = ask(fix, supervisor);
  REQUIRE(std::holds_alternative<std::string>(restarting));
  CHECK(std::get<std::string>(restarting).find("unavailable") != std::string::npos);

  fix.advance(100ms);
  auto back = ask(fix, supervisor);
  REQUIRE(std::holds_alternative<energy_reading>(back));
  CHECK(std::get<energy_reading>(back).generation == 2);
  auto health = stats->read();
  auto restarted =
      std::find_if(health.begin(), health.end(), [](auto& a) { return a.actor == "rapl_sampler:package-0"; });
  REQUIRE(restarted != health.end());
  CHECK(restarted->restarts == 1);

  fix.shutdown(supervisor);
}

TEST_CASE("a second request while the first is unanswered is refused as busy") {
  testing::caf_fixture fix;
  supervisor_config<energy_reading> config;
  config.name = "slow";
  config.spawn_child = [](caf::local_actor* parent, uint64_t) {
    return energy_source_actor{
        parent->spawn([](energy_source_actor::pointer self) -> energy_source_actor::behavior_type {
          return {[=](caf::get_atom) -> caf::result<energy_reading> {
            return self->make_response_promise<energy_reading>();  // never delivered: a hung read
          }};
        })};
  };
  auto supervisor = fix.system().spawn(source_supervisor<energy_reading>, config);
  fix.run();
  fix.self()->request(supervisor, caf::infinite, caf::get_atom_v);
  fix.run();
  auto second = ask(fix, supervisor);
  REQUIRE(std::holds_alternative<std::string>(second));
  CHECK(std::get<std::string>(second).find("busy") != std::string::npos);
  fix.shutdown(supervisor);
}

TEST_CASE("a source that keeps failing is replaced by the next step of the ladder") {
  testing::caf_fixture fix;
  auto make_sampler = [](std::string zone, bool broken) {
    return [zone, broken](caf::local_actor* parent, uint64_t generation) {
      energy_sampler_config cfg;
      cfg.zone_id = zone;
      cfg.generation = generation;
      cfg.poll_period = 1h;
      cfg.read_energy = [broken]() -> result<uint64_t> {
        if (broken) throw std::runtime_error("probe detached");
        return uint64_t{1};
      };
      return energy_source_actor{parent->spawn(energy_sampler, cfg)};
    };
  };
  supervisor_config<energy_reading> config;
  config.name = "cpu_time";
  config.random = [] { return 0.5; };
  config.spawn_child = make_sampler("/primary", true);
  config.spawn_fallback = make_sampler("/fallback", false);
  config.failures_before_fallback = 3;
  auto supervisor = fix.system().spawn(source_supervisor<energy_reading>, config);
  fix.run();  // the first child dies reading its baseline
  for (auto backoff : {100ms, 200ms, 400ms}) fix.advance(backoff);
  auto answer = ask(fix, supervisor);
  REQUIRE(std::holds_alternative<energy_reading>(answer));
  CHECK(std::get<energy_reading>(answer).zone_id == "/fallback");
  fix.shutdown(supervisor);
}

namespace {

/// A child whose reads all hang: it keeps every request's promise and never answers, and,
/// like a thread blocked in read(2), does not stop when asked (only a kill stops it).
struct hung_child_state {
  std::vector<caf::typed_response_promise<energy_reading>> pending;
};
energy_source_actor::behavior_type hung_child(energy_source_actor::stateful_pointer<hung_child_state> self) {
  self->set_exit_handler([](caf::exit_msg&) {});
  return {[=](caf::get_atom) -> caf::result<energy_reading> {
    self->state.pending.push_back(self->make_response_promise<energy_reading>());
    return self->state.pending.back();
  }};
}

uint64_t restarts_of(const actor_stats& stats, const std::string& actor) {
  for (const auto& a : stats.read())
    if (a.actor == actor) return a.restarts;
  return 0;
}

}  // namespace

TEST_CASE("a stuck child is replaced once, and no more while the replacement is stuck too") {
  testing::caf_fixture fix;
  auto stats = std::make_shared<actor_stats>();
  auto children = std::make_shared<std::vector<energy_source_actor>>();
  supervisor_config<energy_reading> config;
  config.name = "rapl_sampler:package-0";
  config.stats = stats;
  config.stuck_after = 1s;
  config.max_stuck_children = 1;
  config.spawn_child = [children](caf::local_actor* parent, uint64_t) {
    children->push_back(energy_source_actor{parent->spawn(hung_child)});
    return children->back();
  };
  auto spawned = [children] { return children->size(); };
  auto supervisor = fix.system().spawn(source_supervisor<energy_reading>, config);
  fix.run();
  fix.self()->request(supervisor, caf::infinite, caf::get_atom_v);  // the read that hangs
  fix.run();
  fix.advance(500ms);
  CHECK(std::get<std::string>(ask(fix, supervisor)).find("busy") != std::string::npos);
  CHECK(spawned() == 1);

  fix.advance(600ms);  // stuck for 1.1 s: a fresh child takes this request
  fix.self()->request(supervisor, caf::infinite, caf::get_atom_v);
  fix.run();
  CHECK(spawned() == 2);
  CHECK(restarts_of(*stats, "rapl_sampler:package-0") == 1);

  for (int i = 0; i < 10; ++i) {  // the replacement hangs as well: one stuck child is the cap
    fix.advance(1s);
    CHECK(std::get<std::string>(ask(fix, supervisor)).find("busy") != std::string::npos);
  }
  CHECK(spawned() == 2);
  CHECK(restarts_of(*stats, "rapl_sampler:package-0") == 1);
  fix.shutdown(supervisor);
  for (const auto& child : *children) caf::anon_send_exit(child, caf::exit_reason::kill);
  fix.run();
}

TEST_CASE("a child that crashes at every start is restarted with doubling delays, not in a loop") {
  testing::caf_fixture fix;
  auto stats = std::make_shared<actor_stats>();
  supervisor_config<energy_reading> config;
  config.name = "rapl_sampler:dram-0";
  config.stats = stats;
  config.random = [] { return 0.5; };  // no jitter
  config.spawn_child = [](caf::local_actor* parent, uint64_t generation) {
    energy_sampler_config cfg;
    cfg.zone_id = "/d0";
    cfg.generation = generation;
    cfg.poll_period = 1h;
    cfg.read_energy = []() -> result<uint64_t> { throw std::runtime_error("driver gone"); };
    return energy_source_actor{parent->spawn(energy_sampler, cfg)};
  };
  auto supervisor = fix.system().spawn(source_supervisor<energy_reading>, config);
  fix.run();  // the first child dies reading its baseline
  CHECK(restarts_of(*stats, "rapl_sampler:dram-0") == 1);
  // Restarts at 100, 300, 700, 1500, 3100 ms: five deaths in 3.2 s, not thousands.
  for (int ms = 0; ms < 3200; ms += 50) fix.advance(50ms);
  CHECK(restarts_of(*stats, "rapl_sampler:dram-0") == 6);
  fix.advance(1600ms);  // the next delay is 3.2 s
  CHECK(restarts_of(*stats, "rapl_sampler:dram-0") == 6);
  fix.shutdown(supervisor);
}
