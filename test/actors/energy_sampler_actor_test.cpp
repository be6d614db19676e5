#include "actors/energy_sampler_actor.hpp"

#include <deque>
#include <variant>

#include <catch2/catch.hpp>

#include "test/support/caf_fixture.hpp"

using namespace kepler;
using namespace std::chrono_literals;

TEST_CASE("a sampler polls at half the fastest wrap period, never slower than the interval") {
  // 1,000 J range at 1,000 W wraps in 1 s: poll every 500 ms.
  CHECK(sampler_poll_period(1'000'000'000, 1000, 5s) == 500ms);
  // A real RAPL range (262 kJ) wraps in minutes: the interval is fast enough.
  CHECK(sampler_poll_period(262'143'328'850, 1000, 5s) == 5s);
  CHECK(sampler_poll_period(0, 1000, 5s) == 5s);  // unknown range: nothing to protect
}

TEST_CASE("a counter that wraps several times between requests is counted once per wrap") {
  testing::caf_fixture fix;
  // Range 1,000 µJ; the counter advances 600 µJ per read, so it wraps every second read.
  auto raw = std::make_shared<uint64_t>(0);
  energy_sampler_config config;
  config.zone_id = "/p0";
  config.max_energy_uj = 1000;
  config.generation = 1;
  config.poll_period = 100ms;
  config.read_energy = [raw]() -> result<uint64_t> {
    uint64_t now = *raw;
    *raw = (*raw + 600) % 1000;
    return now;
  };
  auto sampler = fix.system().spawn(energy_sampler, config);
  fix.run();                                       // the baseline read: 0
  for (int i = 0; i < 4; ++i) fix.advance(100ms);  // four polls: 600, 200, 800, 400
  auto handle = fix.self()->request(sampler, caf::infinite, caf::get_atom_v);
  fix.run();
  uint64_t total = 0;
  handle.receive([&](energy_reading& r) { total = r.total_uj; }, [](caf::error&) { FAIL("no reading"); });
  CHECK(total == 5 * 600);  // the request itself was the fifth read: 0 → 3,000 µJ over 3 wraps
  fix.shutdown(sampler);
}

TEST_CASE("a failed read is answered with an error naming the problem") {
  testing::caf_fixture fix;
  energy_sampler_config config;
  config.zone_id = "/p0";
  config.poll_period = 1h;
  config.read_energy = []() -> result<uint64_t> { return make_error("/p0/energy_uj: Permission denied"); };
  auto sampler = fix.system().spawn(energy_sampler, config);
  fix.run();
  auto handle = fix.self()->request(sampler, caf::infinite, caf::get_atom_v);
  fix.run();
  std::string failure;
  handle.receive([](energy_reading&) { FAIL("expected an error"); }, [&](caf::error& e) { failure = describe(e); });
  CHECK(failure == "/p0/energy_uj: Permission denied");
  fix.shutdown(sampler);
}

TEST_CASE("a reading no plausible power explains is refused, counted, and never reaches the total") {
  testing::caf_fixture fix;
  auto stats = std::make_shared<actor_stats>();
  // 1 J, then an absurd 500 J jump (the sampler reads within milliseconds: far beyond 100 W),
  // then back to 2 J: the glitch is skipped and counting goes on from the old baseline.
  auto script = std::make_shared<std::deque<uint64_t>>(std::deque<uint64_t>{1'000'000, 500'000'000, 2'000'000});
  energy_sampler_config config;
  config.zone_id = "/p0";
  config.max_energy_uj = 1'000'000'000;
  config.max_plausible_watts = 100;
  config.poll_period = 1h;
  config.stats = stats;
  config.actor_name = "rapl_sampler:package-0";
  config.source = "rapl";
  config.zone_label = "package-0";
  config.read_energy = [script]() -> result<uint64_t> {
    auto next = script->front();
    if (script->size() > 1) script->pop_front();
    return next;
  };
  auto sampler = fix.system().spawn(energy_sampler, config);
  fix.run();  // the baseline: 1 J
  auto ask = [&] {
    std::variant<energy_reading, std::string> answer = std::string("no answer");
    auto handle = fix.self()->request(sampler, caf::infinite, caf::get_atom_v);
    fix.run();
    handle.receive([&](energy_reading& r) { answer = r; }, [&](caf::error& e) { answer = describe(e); });
    return answer;
  };
  auto jump = ask();
  REQUIRE(std::holds_alternative<std::string>(jump));
  CHECK(std::get<std::string>(jump) == "rejected reading 500000000 µJ (implausible)");
  auto back = ask();
  REQUIRE(std::holds_alternative<energy_reading>(back));
  CHECK(std::get<energy_reading>(back).total_uj == 1'000'000);
  auto rejected = stats->rejected();
  REQUIRE(rejected.size() == 1);
  CHECK(rejected[0].source == "rapl");
  CHECK(rejected[0].zone == "package-0");
  CHECK(rejected[0].reason == "implausible");
  CHECK(rejected[0].count == 1);
  fix.shutdown(sampler);
}
