#include <catch2/catch.hpp>
#include <cerrno>
#include <cstdint>

#include "base/text.hpp"

using namespace kepler;

TEST_CASE("trim_space drops ASCII whitespace at both ends only") {
  CHECK(trim_space("  12 34\n") == "12 34");
  CHECK(trim_space("\t\r\v\f") == "");
  CHECK(trim_space("") == "");
}

TEST_CASE("parse_decimal takes the whole text or nothing") {
  uint64_t value = 7;
  CHECK(parse_decimal("262143328850", value));
  CHECK(value == 262143328850u);
  CHECK_FALSE(parse_decimal("12abc", value));
  CHECK_FALSE(parse_decimal("", value));
  CHECK_FALSE(parse_decimal("-1", value));
  CHECK_FALSE(parse_decimal("18446744073709551616", value));  // 2^64
  CHECK(value == 262143328850u);                              // untouched by the failures
  int64_t negative = 0;
  CHECK(parse_decimal("-42", negative));
  CHECK(negative == -42);
}

TEST_CASE("errno_text names the error") { CHECK(errno_text(ENOENT) == "No such file or directory"); }
