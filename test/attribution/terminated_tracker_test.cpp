#include "attribution/terminated_tracker.hpp"

#include <catch2/catch.hpp>

using namespace kepler;

namespace {

struct row {
  int id = 0;
  int64_t terminated_at_mono_ns = 0;
};

std::vector<ended<row>> ended_with(std::initializer_list<std::pair<int, uint64_t>> id_and_energy) {
  std::vector<ended<row>> out;
  for (auto [id, energy] : id_and_energy) out.push_back(ended<row>{row{id, 0}, {energy, energy / 2}});
  return out;
}

std::vector<int> ids(const terminated_tracker<row>& tracker) {
  std::vector<int> out;
  for (const auto& e : tracker.entries()) out.push_back(e.row.id);
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

TEST_CASE("a full tracker keeps the most energetic entries and retires the rest") {
  terminated_tracker<row> tracker(terminated_policy{2, 0, 1'000}, 2, 0);
  tracker.add(ended_with({{1, 10}, {2, 30}, {3, 20}}), 5);
  CHECK(ids(tracker) == std::vector<int>{2, 3});
  CHECK(tracker.retired_uj() == std::vector<uint64_t>{10, 5});
  CHECK(tracker.zone_total_uj(0) == 50);
}

TEST_CASE("entries under the energy threshold are retired at once") {
  terminated_tracker<row> tracker(terminated_policy{-1, 15, 1'000}, 2, 0);
  tracker.add(ended_with({{1, 10}, {2, 30}}), 5);
  CHECK(ids(tracker) == std::vector<int>{2});
  CHECK(tracker.retired_uj()[0] == 10);
}

TEST_CASE("a capacity of zero keeps nothing and a negative one keeps everything") {
  terminated_tracker<row> none(terminated_policy{0, 0, 1'000}, 2, 0);
  none.add(ended_with({{1, 10}, {2, 30}}), 5);
  CHECK(none.entries().empty());
  CHECK(none.retired_uj()[0] == 40);
  terminated_tracker<row> all(terminated_policy{-1, 0, 1'000}, 2, 0);
  std::vector<ended<row>> many;
  for (int i = 0; i < 1000; ++i) many.push_back(ended<row>{row{i, 0}, {1, 1}});
  all.add(std::move(many), 5);
  CHECK(all.entries().size() == 1000);
}

TEST_CASE("entries leave after the retention window, stamped with their end time") {
  terminated_tracker<row> tracker(terminated_policy{-1, 0, 100}, 2, 0);
  tracker.add(ended_with({{1, 10}}), 50);
  tracker.add(ended_with({{2, 20}}), 120);
  CHECK(tracker.entries()[0].row.terminated_at_mono_ns == 50);
  tracker.expire(149);
  CHECK(ids(tracker) == std::vector<int>{1, 2});
  tracker.expire(150);
  CHECK(ids(tracker) == std::vector<int>{2});
  CHECK(tracker.retired_uj()[0] == 10);
  tracker.expire(220);
  CHECK(tracker.entries().empty());
  CHECK(tracker.retired_uj()[0] == 30);
}
