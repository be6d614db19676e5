#include "base/descriptor_budget.hpp"

#include <catch2/catch.hpp>

using namespace kepler;

TEST_CASE("connections and kept files share what the reserve leaves of the open files limit", "[base]") {
  CHECK(share_descriptors(1024, 256).connections == 384);  // a soft limit that cannot be raised
  CHECK(share_descriptors(1024, 256).kept_files == 384);
  CHECK(share_descriptors(512, 256).connections == 128);
  const auto large = share_descriptors(1 << 20, 256);
  CHECK(large.connections == max_http_connections);  // the ceiling
  CHECK(large.kept_files == (1u << 20) - 256 - max_http_connections);
  CHECK(share_descriptors(20000, 256, 100).connections == 100);  // a lower configured ceiling
}

TEST_CASE("the shares never add up to more than the open files limit, except a minimum of connections", "[base]") {
  for (std::uint64_t soft : {0ull, 100ull, 256ull, 257ull, 300ull, 4096ull, 20000ull}) {
    INFO(soft);
    const auto shares = share_descriptors(soft, 256);
    CHECK(shares.connections >= 8);
    if (soft >= 256 + 16) CHECK(shares.connections + shares.kept_files + 256 <= soft);
  }
  CHECK(share_descriptors(100, 256).kept_files == 0);
}
