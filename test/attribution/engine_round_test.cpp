// One engine round without actors: what answers do to the books, and what a round publishes.
#include "attribution/engine_round.hpp"

#include <catch2/catch.hpp>

#include "test/support/process_info.hpp"

using namespace kepler;

namespace {

std::shared_ptr<engine_books> two_zone_books(const std::shared_ptr<actor_stats>& stats = nullptr) {
  return new_engine_books({{"package", 0, "/p0", 0}, {"dram", 0, "/d0", 0}},
                          {{"rapl", "package-0"}, {"rapl", "dram-0"}}, terminated_policy{-1, 0, 60'000'000'000}, stats);
}

cpu_sample sample_with(uint64_t skipped, uint64_t fallback_reads) {
  auto table = std::make_shared<process_table>();
  table->skipped = skipped;
  table->fallback_reads = fallback_reads;
  table->ns_per_tick = 10'000'000;
  cpu_sample sample;
  sample.table = table;
  sample.source = "ebpf";
  sample.bpf = bpf_probe_health{"tp_btf", true, 10, 900, {}, {}};
  return sample;
}

}  // namespace

TEST_CASE("fresh books have every source down, the CPU source last, and rejection counters at zero") {
  auto stats = std::make_shared<actor_stats>();
  auto books = two_zone_books(stats);
  REQUIRE(books->health.size() == 3);
  CHECK(books->health[0].source == "rapl");
  CHECK(books->health[0].zone == "package-0");
  CHECK(books->health[2].source == "procfs");
  for (const auto& health : books->health) CHECK_FALSE(health.up);
  auto rejected = stats->rejected();
  CHECK(rejected.size() == 2 * 3);  // two zones, three reasons
  for (const auto& r : rejected) CHECK(r.count == 0);
}

TEST_CASE("a source's state changes are worth a log line; repeated failures are not") {
  auto books = two_zone_books();
  CHECK_FALSE(record_answer(*books, 0, nullptr, 100.0));  // first answer: nothing to say
  CHECK(books->health[0].up);
  CHECK(books->health[0].last_success_seconds == 100.0);

  const std::string eio = "read failed: Input/output error";
  auto down = record_answer(*books, 0, &eio, 105.0);
  REQUIRE(down);
  CHECK(down->warning);
  CHECK(down->text == "source rapl package-0 is down: read failed: Input/output error");
  CHECK_FALSE(record_answer(*books, 0, &eio, 110.0));  // still down: counted, not logged
  CHECK(books->health[0].errors == 2);
  CHECK_FALSE(books->health[0].up);

  auto back = record_answer(*books, 0, nullptr, 115.0);
  REQUIRE(back);
  CHECK_FALSE(back->warning);
  CHECK(back->text == "source rapl package-0 is back");
  CHECK(books->health[0].last_success_seconds == 115.0);

  auto never_up = record_answer(*books, 1, &eio, 120.0);  // a source that never answered
  REQUIRE(never_up);
  CHECK(never_up->text == "source rapl dram-0 is down: read failed: Input/output error");
}

TEST_CASE("a CPU sample's counts add up in the books and its table becomes the round's input") {
  auto books = two_zone_books();
  round_input input;
  record_cpu_sample(*books, sample_with(3, 7), input);
  record_cpu_sample(*books, sample_with(2, 1), input);
  CHECK(books->procfs_skipped_total == 5);
  CHECK(books->procfs_fallback_reads_total == 8);
  CHECK(books->cpu_source == "ebpf");
  CHECK(books->health.back().source == "ebpf");
  REQUIRE(books->bpf);
  CHECK(books->bpf->program_runs == 10);
  REQUIRE(input.cpu);
  CHECK(input.cpu->skipped == 2);  // the latest sample's table
}

TEST_CASE("a round's snapshot carries the pipeline's health beside the math") {
  auto stats = std::make_shared<actor_stats>();
  stats->add_restart("engine");
  stats->set_mailbox_depth("engine", 2);
  auto books = two_zone_books(stats);
  round_input input;
  input.readings.resize(2);
  record_cpu_sample(*books, sample_with(4, 0), input);
  record_answer(*books, 2, nullptr, 1.0);
  round_context context;
  context.stats = stats.get();
  context.collection_seconds = 0.25;
  self_stats self;
  self.resident_bytes = 12345;
  context.self = self;

  auto snap = close_round(*books, input, context);
  CHECK(snap->sources.size() == 3);
  CHECK(snap->sources[2].up);
  CHECK(snap->cpu_source == "ebpf");
  REQUIRE(snap->bpf);
  CHECK(snap->procfs_skipped_total == 4);
  CHECK(snap->collection_seconds == 0.25);
  CHECK(snap->self.resident_bytes == 12345);
  REQUIRE(snap->actors.size() == 1);
  CHECK(snap->actors[0].actor == "engine");
  CHECK(snap->actors[0].restarts == 1);
  CHECK(snap->actors[0].mailbox_depth == 2);
  CHECK(snap->rejected.size() == 6);
  CHECK_FALSE(snap->kube);  // Kubernetes names only once a pod source reported
  CHECK_FALSE(snap->kube_source);

  books->kube_source = kube_health{"kubelet", true, 0, 1.0, {}};
  auto with_kube = close_round(*books, input, context);
  CHECK(with_kube->kube);
  REQUIRE(with_kube->kube_source);
  CHECK(with_kube->kube_source->mode == "kubelet");
}
