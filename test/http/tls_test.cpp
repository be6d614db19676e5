#include "http/tls_context.hpp"

#include <algorithm>
#include <filesystem>
#include <string_view>
#include <thread>

#include <openssl/ssl.h>

#include <catch2/catch.hpp>

#include "test/http/web_fixture.hpp"

using namespace kepler;
using namespace kepler::test;

namespace {

/// A client certificate signed by the test CA with `san` as subjectAltName, made with the
/// openssl command-line tool in `dir`. Returns {cert, key}.
std::pair<std::string, std::string> client_cert_with_san(const temp_dir& dir, const std::string& san) {
  const auto& certs = test_certs::shared();
  dir.write("san.cnf", "subjectAltName = " + san + "\nextendedKeyUsage = clientAuth\n");
  const std::string command = "cd '" + dir.root() +
                              "' && openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 "
                              "-noenc -keyout san.key -out san.csr -subj /CN=scraper >/dev/null 2>&1 && "
                              "openssl x509 -req -in san.csr -CA '" +
                              certs.ca_cert + "' -CAkey '" + certs.ca_key +
                              "' -set_serial 77 -days 2 -extfile san.cnf -out san.crt >/dev/null 2>&1";
  REQUIRE(std::system(command.c_str()) == 0);
  return {dir.root() + "/san.crt", dir.root() + "/san.key"};
}

/// The TLS 1.2 (and older) suites a context offers, by OpenSSL name; TLS 1.3 ones go to `tls13`.
std::vector<std::string> tls12_suites(const std::shared_ptr<boost::asio::ssl::context>& ctx,
                                      std::vector<std::string>* tls13 = nullptr) {
  std::vector<std::string> names;
  const STACK_OF(SSL_CIPHER)* ciphers = SSL_CTX_get_ciphers(ctx->native_handle());
  for (int i = 0; i < sk_SSL_CIPHER_num(ciphers); ++i) {
    const SSL_CIPHER* c = sk_SSL_CIPHER_value(ciphers, i);
    if (std::string_view(SSL_CIPHER_get_version(c)) != "TLSv1.3") names.emplace_back(SSL_CIPHER_get_name(c));
    else if (tls13) tls13->emplace_back(SSL_CIPHER_get_name(c));
  }
  return names;
}

/// A context made from the shared test certificate and key plus `suites` (Go names).
std::shared_ptr<boost::asio::ssl::context> context_with(std::vector<std::string> suites = {}) {
  tls_settings settings;
  settings.cert_file = test_certs::shared().server_cert;
  settings.key_file = test_certs::shared().server_key;
  settings.cipher_suites = std::move(suites);
  auto ctx = make_tls_context(settings);
  if (!ctx) FAIL(ctx.error_message());
  return ctx.value();
}

tls_options with_cert(const std::string& cert, const std::string& key) {
  tls_options opts;
  opts.cert_file = cert;
  opts.key_file = key;
  return opts;
}

}  // namespace

TEST_CASE("a TLS endpoint serves metrics to a client that trusts its CA", "[http][tls]") {
  web_server web(tls_yaml());
  web.server->publish(document("m 1\n"));
  CHECK(web.server->tls_enabled());
  CHECK_FALSE(web.server->auth_enabled());
  tls_client client(web.port);
  const auto reply = client.get("/metrics");
  CHECK(reply.status == 200);
  CHECK(reply.body == "m 1\n");
  CHECK(client.version() >= TLS1_2_VERSION);
  CHECK(client.get("/healthz").status == 200);  // keep-alive over TLS
}

TEST_CASE("TLS below min_version is refused", "[http][tls]") {
  SECTION("min_version TLS13 refuses a TLS 1.2 client") {
    web_server web(tls_yaml() + "  min_version: TLS13\n");
    tls_options old;
    old.max_version = TLS1_2_VERSION;
    CHECK_THROWS(tls_client(web.port, old));
    CHECK(web.drops.count(http_drop::tls_handshake) == 1);  // the refusal is counted
    CHECK(tls_client(web.port).version() == TLS1_3_VERSION);
  }
  SECTION("the default minimum TLS12 refuses TLS 1.1 and 1.0") {
    web_server web(tls_yaml());
    for (int version : {TLS1_1_VERSION, TLS1_VERSION}) {
      INFO(version);
      tls_options old;
      old.allow_legacy = true;  // so that the refusal is the server's, not the client's
      old.min_version = version;
      old.max_version = version;
      CHECK_THROWS(tls_client(web.port, old));
    }
    tls_options tls12;
    tls12.max_version = TLS1_2_VERSION;
    CHECK(tls_client(web.port, tls12).version() == TLS1_2_VERSION);
  }
}

TEST_CASE("max_version caps the protocol", "[http][tls]") {
  web_server web(tls_yaml() + "  max_version: TLS12\n");
  CHECK(tls_client(web.port).version() == TLS1_2_VERSION);
}

TEST_CASE("plain HTTP to a TLS port gets a 400 saying so", "[http][tls]") {
  web_server web(tls_yaml());
  const auto raw = client(web.port).exchange_raw("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
  CHECK(raw.rfind("HTTP/1.0 400 Bad Request\r\n", 0) == 0);
  CHECK_THAT(raw, Catch::Contains("Client sent an HTTP request to an HTTPS server."));
  CHECK(web.drops.count(http_drop::plain_http_on_tls) == 1);
  CHECK(tls_served(web.port, {}));
}

TEST_CASE("client certificates are asked for and checked as client_auth_type says", "[http][tls]") {
  const auto& certs = test_certs::shared();
  const auto trusted = with_cert(certs.client_cert, certs.client_key);
  const auto untrusted = with_cert(certs.other_ca_cert, certs.other_ca_key);  // self-signed by another CA
  const tls_options none;
  const auto ca = "  client_ca_file: " + certs.ca_cert + "\n";
  struct mode {
    std::string yaml;
    bool without, with_trusted, with_untrusted;
  };
  const std::vector<mode> modes{
      {"  client_auth_type: NoClientCert\n", true, true, true},
      {"  client_auth_type: RequestClientCert\n", true, true, true},
      {"  client_auth_type: RequireAnyClientCert\n", false, true, true},
      {"  client_auth_type: VerifyClientCertIfGiven\n" + ca, true, true, false},
      {"  client_auth_type: RequireAndVerifyClientCert\n" + ca, false, true, false},
  };
  for (const auto& m : modes) {
    INFO(m.yaml);
    web_server web(tls_yaml() + m.yaml);
    CHECK(tls_served(web.port, none) == m.without);
    CHECK(tls_served(web.port, trusted) == m.with_trusted);
    CHECK(tls_served(web.port, untrusted) == m.with_untrusted);
  }
}

TEST_CASE("client_allowed_sans admits only certificates naming an allowed SAN", "[http][tls]") {
  const auto& certs = test_certs::shared();
  temp_dir dir;
  const auto [san_cert, san_key] = client_cert_with_san(dir, "DNS:scraper.example, IP:192.0.2.7");
  const auto base =
      tls_yaml() + "  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: " + certs.ca_cert + "\n";
  {
    web_server web(base + "  client_allowed_sans: [other.example, scraper.example]\n");
    CHECK(tls_served(web.port, with_cert(san_cert, san_key)));
    CHECK_FALSE(tls_served(web.port, with_cert(certs.client_cert, certs.client_key)));  // no SAN at all
  }
  {
    web_server web(base + "  client_allowed_sans: [192.0.2.7]\n");
    CHECK(tls_served(web.port, with_cert(san_cert, san_key)));
  }
  {
    web_server web(base + "  client_allowed_sans: [someone.else]\n");
    CHECK_FALSE(tls_served(web.port, with_cert(san_cert, san_key)));
  }
}

TEST_CASE("an inline certificate and key work like files", "[http][tls]") {
  const auto& certs = test_certs::shared();
  web_server web("tls_server_config:\n  cert: |\n" + indented(whole_file(certs.server_cert), "    ") + "  key: |\n" +
                 indented(whole_file(certs.server_key), "    "));
  CHECK(tls_served(web.port, {}));
}

TEST_CASE("cipher suites and curves are applied by their Go names", "[http][tls]") {
  web_server web(tls_yaml() +
                 "  max_version: TLS12\n"
                 "  cipher_suites: [TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256]\n"
                 "  curve_preferences: [CurveP384]\n");
  tls_client client(web.port);
  CHECK(client.get("/healthz").status == 200);
}

TEST_CASE("TLS files that do not load stop the start with the key's name", "[http][tls]") {
  const auto& certs = test_certs::shared();
  temp_dir dir;
  const auto garbage = dir.write("garbage.pem", "not a certificate\n");
  CHECK_THAT(start_error("tls_server_config:\n  cert_file: " + garbage + "\n  key_file: " + certs.server_key + "\n"),
             Catch::Contains("tls_server_config.cert_file " + garbage + ": "));
  CHECK_THAT(start_error("tls_server_config:\n  cert_file: " + certs.server_cert + "\n  key_file: " + certs.client_key +
                         "\n"),
             Catch::Contains("tls_server_config.key_file " + certs.client_key + ": "));
  CHECK_THAT(start_error(tls_yaml() + "  client_auth_type: RequireAndVerifyClientCert\n  client_ca_file: " + garbage +
                         "\n"),
             Catch::Contains("tls_server_config.client_ca_file " + garbage + ": no PEM certificate found"));
  CHECK_THAT(start_error(tls_yaml() + "  cipher_suites: [TLS_NOT_A_SUITE]\n"),
             Catch::Contains("tls_server_config.cipher_suites: TLS_NOT_A_SUITE is unknown"));
  CHECK_THAT(start_error("tls_server_config:\n  cert: junk\n  key: junk\n"),
             Catch::Contains("tls_server_config.cert: "));
}

TEST_CASE("a rotated certificate is served to new connections; a broken edit keeps the old config", "[http][tls]") {
  const auto& certs = test_certs::shared();
  temp_dir files;
  const auto cert = files.root() + "/tls.crt";
  const auto key = files.root() + "/tls.key";
  std::filesystem::copy_file(certs.server_cert, cert);
  std::filesystem::copy_file(certs.server_key, key);
  web_server web("tls_server_config:\n  cert_file: " + cert + "\n  key_file: " + key + "\n");
  CHECK(tls_served(web.port, {}));

  // The new certificate is for another address: a client checking 127.0.0.1 now fails.
  write_text_file(cert, whole_file(certs.wrong_host_cert));
  write_text_file(key, whole_file(certs.wrong_host_key));
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));  // past the watcher's check interval
  CHECK_FALSE(tls_served(web.port, {}));
  tls_options unchecked;
  unchecked.verify_server = false;
  CHECK(tls_served(web.port, unchecked));
  CHECK(web.reload_reports() == std::vector<std::string>{"ok: web config " + web.config_path + " reloaded"});

  write_text_file(web.config_path,
                  "tls_server_config:\n  cert_file: " + cert + "\n  key_file: " + key + "\n  bogus: 1\n");
  std::this_thread::sleep_for(std::chrono::milliseconds(1100));
  CHECK(tls_served(web.port, unchecked));  // still the last good config
  const auto reports = web.reload_reports();
  REQUIRE(reports.size() == 2);
  CHECK_THAT(reports[1], Catch::Contains("tls_server_config.bogus: unknown key"));
  CHECK_THAT(reports[1], Catch::Contains("keeping the previous web config"));
}

TEST_CASE("with only a certificate and key, TLS 1.2 offers ECDHE key exchange with AEAD ciphers only", "[http][tls]") {
  std::vector<std::string> tls13;
  const auto ctx = context_with();
  const auto names = tls12_suites(ctx, &tls13);
  CHECK(names == std::vector<std::string>{"ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256",
                                          "ECDHE-ECDSA-AES256-GCM-SHA384", "ECDHE-RSA-AES256-GCM-SHA384",
                                          "ECDHE-ECDSA-CHACHA20-POLY1305", "ECDHE-RSA-CHACHA20-POLY1305"});
  const STACK_OF(SSL_CIPHER)* ciphers = SSL_CTX_get_ciphers(ctx->native_handle());
  for (int i = 0; i < sk_SSL_CIPHER_num(ciphers); ++i) {
    const SSL_CIPHER* c = sk_SSL_CIPHER_value(ciphers, i);
    INFO(SSL_CIPHER_get_name(c));
    CHECK(SSL_CIPHER_is_aead(c));  // no CBC: no LUCKY13, no SWEET32
    const int kx = SSL_CIPHER_get_kx_nid(c);
    CHECK((kx == NID_kx_ecdhe || kx == NID_kx_any));  // forward secrecy (any: TLS 1.3, always ECDHE here)
  }
  CHECK_THAT(tls13, Catch::VectorContains(std::string("TLS_AES_128_GCM_SHA256")));  // OpenSSL's TLS 1.3 suites stay
  CHECK(tls13.size() == 3);
}

TEST_CASE("with no curve_preferences the key exchange groups are X25519, P-256 and P-384", "[http][tls]") {
  web_server web(tls_yaml());
  for (const char* groups : {"X25519", "P-256", "P-384"}) {
    INFO(groups);
    tls_options client;
    client.groups = groups;
    CHECK(tls_client(web.port, client).get("/healthz").status == 200);
  }
  for (int version : {TLS1_2_VERSION, TLS1_3_VERSION}) {
    INFO(version);
    tls_options others;
    others.groups = "P-521:X448:ffdhe2048";
    others.min_version = version;
    others.max_version = version;
    CHECK_THROWS(tls_client(web.port, others));
  }
  const auto ctx = context_with();
  CHECK((SSL_CTX_get_options(ctx->native_handle()) & SSL_OP_NO_COMPRESSION) != 0);
  CHECK((SSL_CTX_get_options(ctx->native_handle()) & SSL_OP_NO_RENEGOTIATION) != 0);
}

TEST_CASE("cipher_suites may still name legacy suites that the default leaves out", "[http][tls]") {
  const auto ctx = context_with({"TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256", "TLS_RSA_WITH_AES_128_CBC_SHA",
                                 "TLS_AES_128_GCM_SHA256"});  // TLS 1.3 names are skipped, as in Go
  CHECK(tls12_suites(ctx) == std::vector<std::string>{"ECDHE-ECDSA-AES128-SHA256", "AES128-SHA"});
}

TEST_CASE("a TLS 1.2 client offering only CBC suites is refused unless cipher_suites allows one", "[http][tls]") {
  tls_options cbc_only;
  cbc_only.max_version = TLS1_2_VERSION;
  cbc_only.ciphers = "ECDHE-ECDSA-AES128-SHA256:ECDHE-ECDSA-AES128-SHA";
  {
    web_server web(tls_yaml());
    CHECK_THROWS(tls_client(web.port, cbc_only));
    CHECK(web.drops.count(http_drop::tls_handshake) == 1);
  }
  web_server web(tls_yaml() + "  cipher_suites: [TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256]\n");
  CHECK(tls_client(web.port, cbc_only).get("/healthz").status == 200);
}
