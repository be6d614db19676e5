// The estimate's tables: the CSV reader, and the copies compiled into the binary.
#include "sensors/power/estimate_tables.hpp"

#include <catch2/catch.hpp>

#include <algorithm>

using namespace kepler;

namespace {

const specpower_server* server_at_row(int row) {
  const auto& servers = builtin_estimate_tables().servers;
  auto found = std::find_if(servers.begin(), servers.end(), [row](const auto& s) { return s.source_row == row; });
  return found == servers.end() ? nullptr : &*found;
}

}  // namespace

TEST_CASE("CSV fields may be quoted, with commas, doubled quotes and line breaks inside", "[estimate]") {
  auto rows = parse_csv("a,b,c\r\n\"Huawei Technologies Co., Ltd\",\"say \"\"hi\"\"\",\"two\nlines\"\n\nlast,,\n");
  REQUIRE(rows.ok());
  REQUIRE(rows.value().size() == 3);  // the blank line is skipped
  CHECK(rows.value()[0] == std::vector<std::string>{"a", "b", "c"});
  CHECK(rows.value()[1] == std::vector<std::string>{"Huawei Technologies Co., Ltd", "say \"hi\"", "two\nlines"});
  CHECK(rows.value()[2] == std::vector<std::string>{"last", "", ""});
  auto broken = parse_csv("a,b\n1,\"open\n");
  REQUIRE_FALSE(broken.ok());
  CHECK(broken.error_message() == "unterminated quote opened on line 2");
}

TEST_CASE("a table without a needed column is an error naming it", "[estimate]") {
  auto tables = parse_estimate_tables("source_row,HW_Vendor\n1,x\n", "provider\n", "provider\n");
  REQUIRE_FALSE(tables.ok());
  CHECK(tables.error_message() == "SPECpower table: no column \"HW_Model\"");
}

TEST_CASE("the built-in tables hold every server, CPU coefficient and instance type", "[estimate]") {
  REQUIRE(builtin_estimate_tables_error().empty());
  const auto& tables = builtin_estimate_tables();
  CHECK(tables.servers.size() == 619);  // every row of the SPECpower file has a full curve
  CHECK(tables.instances.size() == 1052);
  // 10 AWS, 10 GCP and 10 Azure CPU microarchitectures, and each provider's fallback row.
  CHECK(tables.coefficients.size() == 33);
  CHECK(std::count_if(tables.coefficients.begin(), tables.coefficients.end(),
                      [](const auto& c) { return c.provider_fallback; }) == 3);

  // SOURCES.md's worked example 4: source_row 3.
  const auto* inspur = server_at_row(3);
  REQUIRE(inspur != nullptr);
  CHECK(inspur->model == "Inspur NF5280M5");
  CHECK(inspur->cpu_key == "xeon platinum 8176");
  CHECK(inspur->cpu_architecture == "skylake");
  CHECK(inspur->chips == 2);
  CHECK(inspur->threads == 112);
  CHECK(inspur->tdp_watts == 165.0);
  CHECK(inspur->watts == std::array<double, 11>{49.4, 113, 133, 160, 176, 198, 228, 265, 305, 374, 454});
}
