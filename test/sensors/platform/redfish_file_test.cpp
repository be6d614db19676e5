#include "sensors/platform/redfish_file.hpp"

#include <catch2/catch.hpp>

namespace kepler {

TEST_CASE("Kepler's BMC file format is read as is", "[redfish]") {
  auto file = parse_redfish_file(R"(
nodes:
  worker-1: bmc-r640-01
  blade-01: chassis-cmc-01
  blade-02: chassis-cmc-01
bmcs:
  bmc-r640-01:
    endpoint: https://10.0.0.11
    username: monitor
    password: secret
    insecure: true
  chassis-cmc-01:
    endpoint: http://127.0.0.1:8000
    username: ""
    password: ""
)");
  INFO((file ? "" : file.error_message()));
  REQUIRE(file.ok());
  auto bmc = bmc_for_node(file.value(), "worker-1");
  REQUIRE(bmc.ok());
  CHECK(bmc.value().id == "bmc-r640-01");
  CHECK(bmc.value().endpoint == "https://10.0.0.11");
  CHECK(bmc.value().username == "monitor");
  CHECK(bmc.value().insecure);
  CHECK(bmc.value().auth == redfish_auth::session);
  CHECK(nodes_of_bmc(file.value(), "chassis-cmc-01") == std::vector<std::string>{"blade-01", "blade-02"});
  auto missing = bmc_for_node(file.value(), "worker-9");
  REQUIRE_FALSE(missing.ok());
  CHECK_THAT(missing.error_message(), Catch::Contains("node \"worker-9\" is not in the Redfish file's nodes"));
}

TEST_CASE("every problem of a BMC file is named at once", "[redfish]") {
  auto file = parse_redfish_file(R"(
nodes:
  a: one
  b: missing
bmcs:
  one:
    endpoint: " "
    username: u
    auth: digest
)");
  REQUIRE_FALSE(file.ok());
  const auto& message = file.error_message();
  CHECK_THAT(message, Catch::Contains("BMC \"one\": endpoint is required"));
  CHECK_THAT(message, Catch::Contains("username and password must be given together"));
  CHECK_THAT(message, Catch::Contains("auth \"digest\" is not one of session, basic"));
  CHECK_THAT(message, Catch::Contains("node \"b\" refers to BMC \"missing\", which is not defined"));
  CHECK_THAT(parse_redfish_file("bmcs: {x: {endpoint: http://h}}\n").error_message(),
             Catch::Contains("no nodes configured"));
  CHECK_THAT(parse_redfish_file("nodes: {a: x}\n").error_message(), Catch::Contains("no BMCs configured"));
  CHECK_THAT(parse_redfish_file("nodes: [a\n").error_message(), Catch::Contains("line"));
  CHECK_THAT(parse_redfish_file("nodes: {a: x}\nbmcs: {x: {endpoint: ftp://h}}\n").error_message(),
             Catch::Contains("must start with http:// or https://"));
}

TEST_CASE("the node name is the Redfish one, else Kubernetes', else the host's", "[redfish]") {
  CHECK(redfish_node_name(" r ", "k", "h") == "r");
  CHECK(redfish_node_name("", " k", "h") == "k");
  CHECK(redfish_node_name(" ", "", "h ") == "h");
}

}  // namespace kepler
