#include "http/listen_address.hpp"

#include <catch2/catch.hpp>

using namespace kepler;

TEST_CASE("an empty host means every interface", "[http][listen_address]") {
  auto parsed = parse_listen_address(":28282");
  REQUIRE(parsed);
  CHECK(parsed.value().host.empty());
  CHECK(parsed.value().port == 28282);
}

TEST_CASE("host and port are split at the last colon", "[http][listen_address]") {
  auto ip = parse_listen_address("127.0.0.1:0");
  REQUIRE(ip);
  CHECK(ip.value().host == "127.0.0.1");
  CHECK(ip.value().port == 0);
  auto name = parse_listen_address("localhost:65535");
  REQUIRE(name);
  CHECK(name.value().host == "localhost");
  CHECK(name.value().port == 65535);
}

TEST_CASE("IPv6 hosts are written in brackets", "[http][listen_address]") {
  auto parsed = parse_listen_address("[::1]:9000");
  REQUIRE(parsed);
  CHECK(parsed.value().host == "::1");
  CHECK(parsed.value().port == 9000);
  CHECK_FALSE(parse_listen_address("::1:9000"));
  CHECK_FALSE(parse_listen_address("[::1]9000"));
  CHECK_FALSE(parse_listen_address("[::1"));
  CHECK_FALSE(parse_listen_address("[]:80"));
}

TEST_CASE("the port must be a number from 0 to 65535", "[http][listen_address]") {
  for (const char* bad : {"localhost", "localhost:", ":", "", ":abc", ":65536", ":-1", ":+80", ": 80", ":80x"}) {
    INFO(bad);
    auto parsed = parse_listen_address(bad);
    CHECK_FALSE(parsed);
  }
  auto parsed = parse_listen_address(":99999");
  REQUIRE_FALSE(parsed);
  CHECK(parsed.error_message().find("99999") != std::string::npos);
}
