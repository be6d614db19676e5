#include <catch2/catch.hpp>
#include <string>

#include "base/result.hpp"

using namespace kepler;

namespace {

#define TEST_FRUITS(X) X(apple, "apple") X(sour_cherry, "sour-cherry") X(pear, "pear")
KEPLER_NAMED_ENUM(fruit, TEST_FRUITS)

result<int> half(int n) {
  if (n % 2 != 0) return make_error(errc::parse, std::to_string(n) + " is odd");
  return n / 2;
}

result<void> check_even(int n) {
  if (auto halved = half(n); !halved) return halved.error();
  return {};
}

}  // namespace

TEST_CASE("a named enum's texts come from its list, in order, and parse back") {
  CHECK(to_string(fruit::apple) == "apple");
  CHECK(to_string(fruit::sour_cherry) == "sour-cherry");
  CHECK(parse_enum<fruit>("pear") == fruit::pear);
  CHECK(parse_enum<fruit>("sour-cherry") == fruit::sour_cherry);
  CHECK_FALSE(parse_enum<fruit>("sour_cherry"));  // the text, not the enumerator's name
  CHECK_FALSE(parse_enum<fruit>(""));
  CHECK(enum_choices<fruit>() == "apple, sour-cherry, pear");
  static_assert(enum_texts(fruit{}).size() == 3);
}

TEST_CASE("every error kind has its own text, which parses back to it") {
  for (std::size_t i = 0; i < enum_texts(errc{}).size(); ++i) {
    auto kind = static_cast<errc>(i);
    INFO(to_string(kind));
    CHECK(parse_enum<errc>(to_string(kind)) == kind);
  }
  // Texts that are exported as kepler_kube_errors_total{kind} keep their spelling.
  CHECK(to_string(errc::token_file) == "token_file");
  CHECK(to_string(errc::http_status) == "http_status");
  CHECK(to_string(errc::body_too_large) == "body_too_large");
}

TEST_CASE("a result holds its value or its classified error") {
  auto good = half(8);
  REQUIRE(good.ok());
  CHECK(good.value() == 4);
  auto bad = half(7);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error_kind() == errc::parse);
  CHECK(bad.error_message() == "7 is odd");
  CHECK(make_error("plain").kind == errc::failed);
  auto refused = make_error(errc::auth, "GET /pods: 403", 403);
  CHECK(refused.status == 403);
}

TEST_CASE("a result without a value is success by default and passes errors on") {
  CHECK(check_even(4).ok());
  auto odd = check_even(3);
  REQUIRE_FALSE(odd);
  CHECK(odd.error_kind() == errc::parse);
  CHECK(odd.error_message() == "3 is odd");
}
