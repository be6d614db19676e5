#pragma once
// A metrics server started from a web config written for the test, and a blocking TLS client.

#include <chrono>
#include <cstdlib>
#include <memory>
#include <string>

#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <boost/asio/ssl.hpp>

#include <catch2/catch.hpp>

#include "test/http/test_client.hpp"
#include "test/support/temp_dir.hpp"
#include "test/support/test_certs.hpp"

namespace kepler::test {

namespace ssl = boost::asio::ssl;

/// What the TLS client offers and checks.
struct tls_options {
  bool verify_server = true;             ///< against the test CA, for 127.0.0.1
  std::string cert_file, key_file;       ///< a client certificate, if any
  int min_version = 0, max_version = 0;  ///< TLS1_x_VERSION; 0: OpenSSL's default
  bool allow_legacy = false;             ///< security level 0, so that TLS 1.0/1.1 can be offered
  std::string ciphers;                   ///< TLS ≤ 1.2 suites to offer (OpenSSL names); empty: its default
  std::string groups;                    ///< key exchange groups to offer ("P-521:X448"); empty: its default
};

/// One TLS connection; the constructor connects and handshakes (throws when it fails).
class tls_client {
 public:
  explicit tls_client(unsigned short port, const tls_options& opts = {})
      : ctx_(ssl::context::tls_client), stream_(ioc_, configure(ctx_, opts)) {
    stream_.next_layer().connect({net::ip::make_address("127.0.0.1"), port});
    timeval tv{10, 0};
    setsockopt(stream_.next_layer().native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(stream_.next_layer().native_handle(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    if (opts.verify_server) X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(stream_.native_handle()), "127.0.0.1");
    stream_.handshake(ssl::stream_base::client);
  }

  reply request(http::verb method, std::string_view target, bool keep_alive = true, const header_list& extra = {}) {
    return exchange(stream_, buffer_, method, target, keep_alive, extra);
  }
  reply get(std::string_view target, const header_list& extra = {}) {
    return request(http::verb::get, target, true, extra);
  }

  /// The protocol version negotiated (TLS1_2_VERSION, TLS1_3_VERSION, …).
  int version() { return SSL_version(stream_.native_handle()); }

 private:
  static ssl::context& configure(ssl::context& ctx, const tls_options& opts) {
    const auto& certs = test_certs::shared();
    if (opts.verify_server) {
      ctx.load_verify_file(certs.ca_cert);
      ctx.set_verify_mode(ssl::verify_peer);
    }
    if (!opts.cert_file.empty()) {
      ctx.use_certificate_chain_file(opts.cert_file);
      ctx.use_private_key_file(opts.key_file, ssl::context::pem);
    }
    if (opts.allow_legacy) {
      SSL_CTX_set_security_level(ctx.native_handle(), 0);
      SSL_CTX_set_cipher_list(ctx.native_handle(), "DEFAULT:@SECLEVEL=0");
    }
    if (!opts.ciphers.empty()) SSL_CTX_set_cipher_list(ctx.native_handle(), opts.ciphers.c_str());
    if (!opts.groups.empty()) SSL_CTX_set1_groups_list(ctx.native_handle(), opts.groups.c_str());
    if (opts.min_version) SSL_CTX_set_min_proto_version(ctx.native_handle(), opts.min_version);
    if (opts.max_version) SSL_CTX_set_max_proto_version(ctx.native_handle(), opts.max_version);
    return ctx;
  }

  net::io_context ioc_;
  ssl::context ctx_;
  ssl::stream<tcp::socket> stream_;
  boost::beast::flat_buffer buffer_;
};

/// Whether a TLS client with `opts` gets a 200 for /healthz (false when the handshake or the
/// request fails: with TLS 1.3 a refused client certificate shows up only at the first read).
inline bool tls_served(unsigned short port, const tls_options& opts) {
  try {
    return tls_client(port, opts).get("/healthz").status == 200;
  } catch (const std::exception&) {
    return false;
  }
}

/// `text` with every line indented (PEM inside a YAML block scalar).
inline std::string indented(const std::string& text, const std::string& indent) {
  std::string out;
  std::size_t begin = 0;
  while (begin < text.size()) {
    const auto end = text.find('\n', begin);
    out += indent + text.substr(begin, end - begin) + "\n";
    if (end == std::string::npos) break;
    begin = end + 1;
  }
  return out;
}

/// `tls_server_config:` with the shared test server certificate, ready for more keys.
inline std::string tls_yaml() {
  const auto& certs = test_certs::shared();
  return "tls_server_config:\n  cert_file: " + certs.server_cert + "\n  key_file: " + certs.server_key + "\n";
}

/// A server on a loopback port started from `yaml` (written as web.yml in its own folder);
/// `waiting_page` non-empty turns the page on (exporter.ui.enabled) with that page before a snapshot.
struct web_server {
  explicit web_server(const std::string& yaml, server_limits limits = {}, const std::string& waiting_page = "") {
    config_path = dir.write("web.yml", yaml);
    metrics_server::options opts{{"127.0.0.1:0"}, true};
    opts.web_config_file = config_path;
    opts.limits = limits;
    opts.ui_enabled = !waiting_page.empty();
    opts.ui_waiting_page = waiting_page;
    opts.on_drop = drops.observer();
    opts.on_web_config_reload = [this](bool ok, const std::string& message) {
      std::lock_guard guard(mutex);
      reloads.push_back((ok ? "ok: " : "error: ") + message);
    };
    server = start_with(opts);
    port = server->bound_ports().at(0);
  }

  std::vector<std::string> reload_reports() {
    std::lock_guard guard(mutex);
    return reloads;
  }

  drop_log drops;
  temp_dir dir;
  std::string config_path;
  std::unique_ptr<metrics_server> server;
  unsigned short port = 0;
  std::mutex mutex;
  std::vector<std::string> reloads;
};

/// The error metrics_server::start gives for `yaml` (failing the test if it starts).
inline std::string start_error(const std::string& yaml) {
  temp_dir dir;
  metrics_server::options opts{{"127.0.0.1:0"}, true};
  opts.web_config_file = dir.write("web.yml", yaml);
  auto started = metrics_server::start(opts);
  REQUIRE_FALSE(started);
  return started.error_message();
}

}  // namespace kepler::test
