#include "metrics/stdout_table.hpp"

#include <catch2/catch.hpp>

using namespace kepler;

TEST_CASE("the stdout table lists node zones sorted by name with watts and joules") {
  snapshot snap;
  snap.zones.push_back(node_zone_stats{"package", "/p", 240'422'370'000, 0, 0, 0, 12.344});
  snap.zones.push_back(node_zone_stats{"core", "/c", 1'500'000, 0, 0, 0, 3.0});
  auto table = format_node_table(snap);
  CHECK(table ==
        "      Zone |     Power(W) |      Absolute(J)\n"
        "      core |        3.00W |            1.50J\n"
        "   package |       12.34W |       240422.37J\n");
}
