#include "http/web_config.hpp"

#include <crypt.h>

#include <catch2/catch.hpp>

#include "test/support/temp_dir.hpp"
#include "test/support/test_certs.hpp"

using namespace kepler;
using namespace kepler::test;

namespace {

/// A bcrypt hash made now by libxcrypt, with the given prefix ("$2y$" as Go and htpasswd write).
std::string bcrypt_hash(const std::string& password, const char* prefix = "$2y$") {
  char salt[CRYPT_GENSALT_OUTPUT_SIZE];
  REQUIRE(crypt_gensalt_rn(prefix, 4, nullptr, 0, salt, sizeof salt) != nullptr);
  crypt_data data{};
  const char* hash = crypt_rn(password.c_str(), salt, &data, sizeof data);
  REQUIRE(hash != nullptr);
  return hash;
}

std::string certs_yaml() {
  const auto& certs = test_certs::shared();
  return "tls_server_config:\n  cert_file: " + certs.server_cert + "\n  key_file: " + certs.server_key + "\n";
}

/// Parses `text` as the file `dir/web.yml` and returns the error (failing if there is none).
std::string error_of(const std::string& text) {
  temp_dir dir;
  const auto path = dir.write("web.yml", text);
  auto parsed = load_web_config(path);
  REQUIRE_FALSE(parsed);
  CHECK(parsed.error_message().rfind("web config " + path + ": ", 0) == 0);
  return parsed.error_message();
}

}  // namespace

TEST_CASE("an empty web config means plain HTTP without auth", "[http][web_config]") {
  temp_dir dir;
  for (const char* text : {"", "# nothing\n", "tls_server_config:\nbasic_auth_users:\n", "tls_server_config: {}\n"}) {
    INFO(text);
    auto parsed = load_web_config(dir.write("web.yml", text));
    REQUIRE(parsed);
    CHECK_FALSE(parsed.value().tls);
    CHECK(parsed.value().users.empty());
    CHECK(parsed.value().headers.empty());
  }
}

TEST_CASE("a full web config is read with the toolkit's keys and values", "[http][web_config]") {
  const auto& certs = test_certs::shared();
  temp_dir dir;
  const auto alice = bcrypt_hash("wonderland");
  const auto path = dir.write("web.yml",
                              "tls_server_config:\n"
                              "  cert_file: " +
                                  certs.server_cert +
                                  "\n"
                                  "  key_file: " +
                                  certs.server_key +
                                  "\n"
                                  "  client_auth_type: RequireAndVerifyClientCert\n"
                                  "  client_ca_file: " +
                                  certs.ca_cert +
                                  "\n"
                                  "  min_version: TLS13\n"
                                  "  max_version: TLS13\n"
                                  "  cipher_suites: [TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256]\n"
                                  "  curve_preferences: [X25519, CurveP256]\n"
                                  "  prefer_server_cipher_suites: false\n"
                                  "  client_allowed_sans: [scraper.example]\n"
                                  "http_server_config:\n"
                                  "  http2: false\n"
                                  "  headers:\n"
                                  "    X-Frame-Options: deny\n"
                                  "    Strict-Transport-Security: max-age=31536000\n"
                                  "basic_auth_users:\n"
                                  "  alice: " +
                                  alice + "\n");
  auto parsed = load_web_config(path);
  REQUIRE(parsed);
  const auto& config = parsed.value();
  REQUIRE(config.tls);
  CHECK(config.tls->cert_file == certs.server_cert);
  CHECK(config.tls->key_file == certs.server_key);
  CHECK(config.tls->client_ca_file == certs.ca_cert);
  CHECK(config.tls->client_auth_type == client_auth::require_and_verify_client_cert);
  CHECK(config.tls->min_version == tls_version::tls13);
  CHECK(config.tls->max_version == tls_version::tls13);
  CHECK(config.tls->cipher_suites == std::vector<std::string>{"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"});
  CHECK(config.tls->curve_groups == std::vector<std::string>{"X25519", "P-256"});
  CHECK_FALSE(config.tls->prefer_server_cipher_suites);
  CHECK(config.tls->client_allowed_sans == std::vector<std::string>{"scraper.example"});
  CHECK_FALSE(config.http2);
  CHECK(config.headers ==
        std::vector<std::pair<std::string, std::string>>{{"X-Frame-Options", "deny"},
                                                         {"Strict-Transport-Security", "max-age=31536000"}});
  CHECK(config.users == std::map<std::string, std::string>{{"alice", alice}});
  CHECK(config.files() == std::vector<std::string>{path, certs.server_cert, certs.server_key, certs.ca_cert});
}

TEST_CASE("the defaults are the toolkit's: TLS 1.2 minimum, no client certificate", "[http][web_config]") {
  temp_dir dir;
  auto parsed = load_web_config(dir.write("web.yml", certs_yaml()));
  REQUIRE(parsed);
  CHECK(parsed.value().tls->min_version == tls_version::tls12);
  CHECK_FALSE(parsed.value().tls->max_version);
  CHECK(parsed.value().tls->client_auth_type == client_auth::no_client_cert);
  CHECK(parsed.value().tls->prefer_server_cipher_suites);
  CHECK(parsed.value().http2);
}

TEST_CASE("relative paths are resolved against the web config's directory", "[http][web_config]") {
  const auto& certs = test_certs::shared();
  temp_dir dir;
  std::filesystem::create_directory(dir.root() + "/tls");
  std::filesystem::copy_file(certs.server_cert, dir.root() + "/tls/server.crt");
  std::filesystem::copy_file(certs.server_key, dir.root() + "/tls/server.key");
  const auto path =
      dir.write("web.yml", "tls_server_config:\n  cert_file: tls/server.crt\n  key_file: ./tls/server.key\n");
  auto parsed = load_web_config(path);
  REQUIRE(parsed);
  CHECK(parsed.value().tls->cert_file == dir.root() + "/tls/server.crt");
  CHECK(parsed.value().tls->key_file == dir.root() + "/./tls/server.key");
}

TEST_CASE("every Go bcrypt prefix is accepted as a hash", "[http][web_config]") {
  temp_dir dir;
  for (const char* prefix : {"$2a$", "$2b$", "$2y$"}) {
    INFO(prefix);
    auto parsed =
        load_web_config(dir.write("web.yml", "basic_auth_users:\n  bob: " + bcrypt_hash("pw", prefix) + "\n"));
    REQUIRE(parsed);
    CHECK(parsed.value().users.at("bob").rfind(prefix, 0) == 0);
  }
}

TEST_CASE("each mistake in a web config is named with its key and line", "[http][web_config]") {
  const auto& certs = test_certs::shared();
  const auto hash = bcrypt_hash("pw");
  struct mistake {
    std::string text;
    std::string expected;
  };
  const std::vector<mistake> mistakes{
      {"tls_server_confg:\n  cert_file: x\n", "line 1: tls_server_confg: unknown key"},
      {certs_yaml() + "  foo: 1\n", "line 4: tls_server_config.foo: unknown key"},
      {"http_server_config:\n  http3: true\n", "line 2: http_server_config.http3: unknown key"},
      {"http_server_config:\n  http2: maybe\n", "http_server_config.http2: expected true or false"},
      {certs_yaml() + "  min_version: TLS9\n",
       "line 4: tls_server_config.min_version: unknown TLS version \"TLS9\" (one of TLS10, TLS11, TLS12, TLS13)"},
      {certs_yaml() + "  max_version: tls13\n", "tls_server_config.max_version: unknown TLS version \"tls13\""},
      {certs_yaml() + "  min_version: TLS13\n  max_version: TLS12\n",
       "tls_server_config.max_version: is below min_version"},
      {certs_yaml() + "  client_auth_type: Always\n",
       "tls_server_config.client_auth_type: unknown client auth type \"Always\""},
      {certs_yaml() + "  client_ca_file: " + certs.ca_cert + "\n",
       "tls_server_config.client_ca_file: a client CA is set but client_auth_type is NoClientCert"},
      {certs_yaml() + "  client_auth_type: RequireAndVerifyClientCert\n",
       "tls_server_config.client_auth_type: verifying client certificates needs client_ca_file (or client_ca)"},
      {certs_yaml() + "  client_allowed_sans: [a]\n", "tls_server_config.client_allowed_sans: needs client_auth_type"},
      {certs_yaml() + "  curve_preferences: [P256]\n", "tls_server_config.curve_preferences: unknown curve \"P256\""},
      {certs_yaml() + "  cipher_suites: TLS_AES_128_GCM_SHA256\n", "tls_server_config.cipher_suites: expected a list"},
      {"tls_server_config:\n  key_file: " + certs.server_key + "\n",
       "tls_server_config: cert_file (or cert) is missing"},
      {"tls_server_config:\n  cert_file: " + certs.server_cert + "\n",
       "tls_server_config: key_file (or key) is missing"},
      {"tls_server_config:\n  min_version: TLS13\n", "tls_server_config: cert_file (or cert) is missing"},
      {certs_yaml() + "  cert: inline\n", "tls_server_config: give either cert_file or cert, not both"},
      {"tls_server_config:\n  cert_file: /nonexistent/server.crt\n  key_file: " + certs.server_key + "\n",
       "line 2: tls_server_config.cert_file: /nonexistent/server.crt does not exist"},
      {"tls_server_config:\n  cert_file: " + certs.server_cert + "\n  key_file: /tmp\n",
       "line 3: tls_server_config.key_file: /tmp is not a regular file"},
      {"tls_server_config:\n  cert_file: [a, b]\n  key_file: k\n",
       "tls_server_config.cert_file: expected a single value"},
      {"basic_auth_users:\n  alice: plaintext\n", "line 2: basic_auth_users.alice: not a bcrypt hash"},
      {"basic_auth_users:\n  alice: \"" + hash.substr(0, 59) + "\"\n", "basic_auth_users.alice: not a bcrypt hash"},
      {"basic_auth_users:\n  alice: \"$2x$" + hash.substr(4) + "\"\n", "basic_auth_users.alice: not a bcrypt hash"},
      {"basic_auth_users:\n  alice: \"$2y$03$" + hash.substr(7) + "\"\n", "basic_auth_users.alice: not a bcrypt hash"},
      {"basic_auth_users:\n  \"a:b\": " + hash + "\n",
       "basic_auth_users.a:b: a user name must be non-empty and without ':'"},
      {"basic_auth_users:\n  alice: " + hash + "\n  alice: " + hash + "\n",
       "line 3: basic_auth_users.alice: given twice"},
      {"basic_auth_users: [alice]\n", "basic_auth_users: expected a mapping"},
      {"tls_server_config: on\n", "line 1: tls_server_config: expected a mapping"},
      {"http_server_config:\n  headers:\n    Content-Type: text/html\n",
       "http_server_config.headers.Content-Type: this header cannot be configured"},
      {"http_server_config:\n  headers:\n    X-Content-Type-Options: sniff\n",
       "http_server_config.headers.X-Content-Type-Options: value \"sniff\" is not allowed"},
      {"- a list\n", "expected a mapping at the top (line 1)"},
      {"tls_server_config:\n  cert_file: \"unclosed\n", "line "},
  };
  for (const auto& m : mistakes) {
    INFO(m.text);
    const auto message = error_of(m.text);
    CHECK_THAT(message, Catch::Contains(m.expected));
  }
}

TEST_CASE("a password hash never appears in an error message", "[http][web_config]") {
  const auto hash = bcrypt_hash("pw");
  const auto broken = hash.substr(0, 50);
  const auto message = error_of("basic_auth_users:\n  alice: \"" + broken + "\"\n");
  CHECK_THAT(message, !Catch::Contains(broken.substr(7)));
}

TEST_CASE("several mistakes are reported together", "[http][web_config]") {
  const auto message = error_of("tls_server_config:\n  min_version: TLS9\nbasic_auth_users:\n  bob: x\nextra: 1\n");
  CHECK_THAT(message, Catch::Contains("tls_server_config.min_version"));
  CHECK_THAT(message, Catch::Contains("basic_auth_users.bob"));
  CHECK_THAT(message, Catch::Contains("line 5: extra: unknown key"));
}

TEST_CASE("a web config that is missing or a directory is refused by name", "[http][web_config]") {
  temp_dir dir;
  auto missing = load_web_config(dir.root() + "/none.yml");
  REQUIRE_FALSE(missing);
  CHECK(missing.error_message() == "web config " + dir.root() + "/none.yml: no such file");
  auto directory = load_web_config(dir.root());
  REQUIRE_FALSE(directory);
  CHECK(directory.error_message() == "web config " + dir.root() + ": not a regular file");
}
