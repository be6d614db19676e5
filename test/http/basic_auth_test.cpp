#include "http/basic_auth.hpp"

#include <future>
#include <vector>

#include <crypt.h>

#include <boost/beast/core/detail/base64.hpp>
#include <catch2/catch.hpp>

using namespace kepler;

namespace {

std::string bcrypt_hash(const std::string& password, const char* prefix = "$2y$", int cost = 4) {
  char salt[CRYPT_GENSALT_OUTPUT_SIZE];
  REQUIRE(crypt_gensalt_rn(prefix, cost, nullptr, 0, salt, sizeof salt) != nullptr);
  crypt_data data{};
  const char* hash = crypt_rn(password.c_str(), salt, &data, sizeof data);
  REQUIRE(hash != nullptr);
  return hash;
}

/// `Basic base64(user:password)`, encoded with Beast's encoder (not ours).
std::string basic(const std::string& user_and_password) {
  namespace b64 = boost::beast::detail::base64;
  std::string encoded(b64::encoded_size(user_and_password.size()), '\0');
  encoded.resize(b64::encode(encoded.data(), user_and_password.data(), user_and_password.size()));
  return "Basic " + encoded;
}

}  // namespace

TEST_CASE("basic credentials are decoded from the Authorization header", "[http][auth]") {
  auto alice = parse_basic_authorization(basic("alice:secret"));
  REQUIRE(alice);
  CHECK(alice->user == "alice");
  CHECK(alice->password == "secret");

  auto colons = parse_basic_authorization(basic("bob:pa:ss:"));  // the password may hold colons
  REQUIRE(colons);
  CHECK(colons->user == "bob");
  CHECK(colons->password == "pa:ss:");

  auto lower_scheme = parse_basic_authorization("basic " + basic("u:").substr(6));
  REQUIRE(lower_scheme);
  CHECK(lower_scheme->password.empty());

  for (const auto& lengths : {"a:", "ab:", "abc:"}) CHECK(parse_basic_authorization(basic(lengths)));  // every padding
}

TEST_CASE("malformed Authorization headers are no credentials", "[http][auth]") {
  for (const std::string& bad :
       std::vector<std::string>{"", "Basic", "Basic ", "Bearer abc", basic("nocolon"),
                                "Basic YWxpY2U6c2VjcmV0=", "Basic YWxpY2U6c2VjcmV0!", "Basic YW=jZQ==", "Basic ====",
                                "Basic  " + basic("a:b").substr(6), "Digest " + basic("a:b").substr(6)}) {
    INFO(bad);
    CHECK_FALSE(parse_basic_authorization(bad));
  }
}

TEST_CASE("bcrypt hashes of every Go prefix verify the right password only", "[http][auth]") {
  for (const char* prefix : {"$2a$", "$2b$", "$2y$"}) {
    INFO(prefix);
    const auto hash = bcrypt_hash("correct horse", prefix);
    CHECK(is_bcrypt_hash(hash));
    CHECK(bcrypt_matches("correct horse", hash));
    CHECK_FALSE(bcrypt_matches("correct horsE", hash));
    CHECK_FALSE(bcrypt_matches("", hash));
    CHECK_FALSE(bcrypt_matches(std::string("correct horse\0x", 15), hash));  // no truncation at NUL
  }
}

TEST_CASE("only well-formed bcrypt hashes are recognised", "[http][auth]") {
  const auto good = bcrypt_hash("pw");
  CHECK(is_bcrypt_hash(good));
  CHECK_FALSE(is_bcrypt_hash(good.substr(0, 59)));
  CHECK_FALSE(is_bcrypt_hash(good + "x"));
  CHECK_FALSE(is_bcrypt_hash("$2x$" + good.substr(4)));
  CHECK_FALSE(is_bcrypt_hash("$2y$03$" + good.substr(7)));
  CHECK_FALSE(is_bcrypt_hash("$2y$32$" + good.substr(7)));
  CHECK_FALSE(is_bcrypt_hash("$2y$1a$" + good.substr(7)));
  CHECK_FALSE(is_bcrypt_hash(good.substr(0, 20) + "!" + good.substr(21)));
  CHECK_FALSE(is_bcrypt_hash("$6$rounds=5000$saltsaltsaltsalt$" + std::string(27, 'a')));
  CHECK_FALSE(is_bcrypt_hash(""));
}

TEST_CASE("a user is granted after one bcrypt check, then from the cache", "[http][auth]") {
  const auto auth_ptr = basic_auth::create({{"alice", bcrypt_hash("secret")}, {"bob", bcrypt_hash("builder")}}).value();
  const basic_auth& auth = *auth_ptr;
  const auto alice = basic("alice:secret");
  CHECK(auth.quick_check(alice) == basic_auth::verdict::needs_bcrypt);
  CHECK(auth.verify(alice));
  CHECK(auth.quick_check(alice) == basic_auth::verdict::granted);
  // Other users and other passwords are not covered by alice's entry.
  CHECK(auth.quick_check(basic("bob:builder")) == basic_auth::verdict::needs_bcrypt);
  CHECK(auth.quick_check(basic("alice:secreT")) == basic_auth::verdict::needs_bcrypt);
  CHECK(auth.quick_check(basic("alicesecret:")) == basic_auth::verdict::needs_bcrypt);
}

TEST_CASE("wrong passwords, unknown users and missing headers are denied and never cached", "[http][auth]") {
  const auto auth_ptr = basic_auth::create({{"alice", bcrypt_hash("secret")}}).value();
  const basic_auth& auth = *auth_ptr;
  CHECK(auth.quick_check("") == basic_auth::verdict::denied);
  CHECK(auth.quick_check("Basic !!!!") == basic_auth::verdict::denied);
  CHECK_FALSE(auth.verify(""));
  for (const auto& wrong : {basic("alice:wrong"), basic("mallory:secret"), basic("Alice:secret")}) {
    INFO(wrong);
    CHECK_FALSE(auth.verify(wrong));
    CHECK(auth.quick_check(wrong) == basic_auth::verdict::needs_bcrypt);  // a second try pays bcrypt again
  }
}

TEST_CASE("a user whose hash is in the config verifies although another user shares the password", "[http][auth]") {
  // An unknown user is checked against a configured hash for timing; a match must still deny.
  const auto auth_ptr = basic_auth::create({{"alice", bcrypt_hash("same")}}).value();
  const basic_auth& auth = *auth_ptr;
  CHECK_FALSE(auth.verify(basic("eve:same")));
  CHECK(auth.verify(basic("alice:same")));
}

TEST_CASE("concurrent checks of one user agree", "[http][auth]") {
  const auto auth_ptr = basic_auth::create({{"alice", bcrypt_hash("secret")}}).value();
  const basic_auth& auth = *auth_ptr;
  std::vector<std::future<bool>> checks;
  for (int i = 0; i < 8; ++i)
    checks.push_back(std::async(std::launch::async,
                                [&auth, i] { return auth.verify(basic(i % 2 ? "alice:secret" : "alice:nope")); }));
  for (int i = 0; i < 8; ++i) CHECK(checks[i].get() == (i % 2 == 1));
  CHECK(auth.quick_check(basic("alice:secret")) == basic_auth::verdict::granted);
}
