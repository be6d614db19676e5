#pragma once
// A small blocking HTTP/1.1 GET client for the kubelet and the API server (Boost.Beast,
// OpenSSL). Every request has one deadline for connect, TLS, headers and body, polls a stop
// flag while it waits, and never holds more of a body than the configured limit.

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "base/result.hpp"

namespace boost::asio::ssl {
class context;
}

namespace kepler {

/// How the client checks the server and proves who it is. Files and in-memory PEM
/// (a kubeconfig's `*-data` fields, already base64-decoded) are alternatives.
struct kube_tls_settings {
  std::string ca_file;  ///< PEM bundle the server must chain to; with ca_pem empty too: the system store
  std::string ca_pem;
  bool insecure_skip_verify = false;  ///< no certificate or host check (kubelet.insecureSkipVerify)
  std::string client_cert_file;       ///< client certificate (chain) for mutual TLS
  std::string client_key_file;
  std::string client_cert_pem;
  std::string client_key_pem;
};

/// Per-request settings.
struct request_options {
  std::string bearer_token;                   ///< sent as `Authorization: Bearer …` when not empty
  std::chrono::milliseconds timeout{10'000};  ///< the whole request: connect, TLS, headers and body
  std::size_t max_body_bytes = 64u << 20;     ///< body limit; for line streams, the longest line
  std::function<bool()> should_stop;          ///< polled every `stop_poll` while waiting; true = give up
  std::chrono::milliseconds stop_poll{100};
};

/// A complete response with a 2xx status.
struct http_response {
  unsigned status = 0;
  std::string body;
};

/// The parts of an http:// or https:// URL the client needs.
struct kube_url {
  bool tls = false;
  std::string host;       ///< without brackets (IPv6 literals are bare here)
  std::string port;       ///< explicit, or 80/443
  std::string authority;  ///< host[:port] as written, for the Host header
  std::string target;     ///< path and query, at least "/"
};

/// Splits a URL; errors name what is wrong with it (kind config).
result<kube_url> parse_kube_url(std::string_view url);

/// Receives one line of a streamed body (without its line break); false ends the stream.
using line_handler = std::function<bool(std::string_view line)>;

/// Issues GET requests over plain HTTP or TLS. Copies share one TLS context; use from one
/// thread at a time.
class kube_http_client {
 public:
  /// Loads the CA and the client certificate once; errors name the file or field (kind config).
  static result<kube_http_client> create(const kube_tls_settings& tls);

  /// GETs `url` and returns its body. Non-2xx statuses are errors (auth for 401/403,
  /// http_status otherwise, with `status` set and the start of the body in the message).
  result<http_response> get(std::string_view url, const request_options& options) const;

  /// GETs `url` and hands its body to `on_line` line by line as it arrives (chunked watch
  /// streams). Returns when the server ends the body, `on_line` returns false, or on error.
  result<void> get_lines(std::string_view url, const request_options& options, const line_handler& on_line) const;

 private:
  explicit kube_http_client(std::shared_ptr<boost::asio::ssl::context> tls) : tls_(std::move(tls)) {}
  std::shared_ptr<boost::asio::ssl::context> tls_;
};

}  // namespace kepler
