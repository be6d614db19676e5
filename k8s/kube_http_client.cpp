#include "k8s/kube_http_client.hpp"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <limits>
#include <optional>
#include <sstream>
#include <vector>

#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

namespace kepler {
namespace {

namespace net = boost::asio;
namespace ssl = net::ssl;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using steady = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr std::size_t read_chunk_bytes = 64 * 1024;
constexpr std::size_t header_limit_bytes = 64 * 1024;
constexpr std::size_t error_snippet_bytes = 300;

using tls_stream = beast::ssl_stream<beast::tcp_stream>;
using plain_stream = beast::tcp_stream;

/// Receives body bytes; returns false to stop reading, or an error.
using body_sink = std::function<result<bool>(std::string_view chunk)>;

enum class interruption { none, deadline, stopped };

bool is_ip_literal(const std::string& host) {
  beast::error_code ec;
  net::ip::make_address(host, ec);
  return !ec;
}

/// The start of an error body on one line, for messages (API-server Status objects say why).
std::string snippet(std::string_view body) {
  std::string out(body.substr(0, error_snippet_bytes));
  std::replace_if(
      out.begin(), out.end(), [](char c) { return c == '\n' || c == '\r'; }, ' ');
  if (body.size() > error_snippet_bytes) out += "…";
  return out;
}

/// One request on one connection, driven synchronously over Asio's asynchronous operations so
/// that a single deadline covers every step and a stop request is noticed within `stop_poll`.
template <class Stream>
class exchange {
 public:
  exchange(const kube_url& url, std::string_view full_url, const request_options& options, ssl::context* tls)
      : url_(url), full_url_(full_url), options_(options), resolver_(ioc_) {
    if constexpr (std::is_same_v<Stream, tls_stream>) {
      stream_.emplace(ioc_, *tls);
    } else {
      stream_.emplace(ioc_);
    }
  }

  /// Connects, shakes hands, sends the GET and reads the response headers.
  result<void> open() {
    deadline_ = steady::now() + options_.timeout;
    if (auto connected = connect(); !connected) return connected;
    if constexpr (std::is_same_v<Stream, tls_stream>) {
      if (auto secured = handshake(); !secured) return secured;
    }
    if (auto sent = send_request(); !sent) return sent;
    return read_header();
  }

  unsigned status() const { return parser_.get().result_int(); }
  bool success() const { return status() >= 200 && status() < 300; }
  std::optional<std::uint64_t> content_length() const {
    auto length = parser_.content_length();
    return length ? std::optional<std::uint64_t>(*length) : std::nullopt;
  }

  /// Reads the body chunk by chunk into `sink` until it ends or the sink says stop.
  result<void> read_body(const body_sink& sink) {
    std::vector<char> chunk(read_chunk_bytes);
    while (!parser_.is_done()) {
      auto& body = parser_.get().body();
      body.data = chunk.data();
      body.size = chunk.size();
      auto ec = wait([&](auto handler) { http::async_read_some(*stream_, buffer_, parser_, handler); });
      if (ec == http::error::need_buffer) ec = {};
      if (ec) return failure(errc::io, "reading the body", ec);
      std::size_t received = chunk.size() - body.size;
      if (received == 0) continue;
      auto more = sink({chunk.data(), received});
      if (!more) return more.error();
      if (!more.value()) return {};
    }
    return {};
  }

  /// The error for a non-2xx status, with the start of the body for context.
  error status_error() {
    std::string body;
    (void)read_body([&](std::string_view chunk) -> result<bool> {
      body.append(chunk.substr(0, error_snippet_bytes + 1 - body.size()));  // one byte more marks "cut"
      return body.size() <= error_snippet_bytes;
    });
    unsigned code = status();
    bool refused = code == 401 || code == 403;
    std::string message =
        "GET " + full_url_ + ": HTTP " + std::to_string(code) + " " + std::string(parser_.get().reason());
    if (refused) message += " (the token or client certificate was refused)";
    if (!body.empty()) message += ": " + snippet(body);
    return make_error(refused ? errc::auth : errc::http_status, std::move(message), static_cast<int>(code));
  }

  const std::string& url() const { return full_url_; }

 private:
  auto& lowest() { return beast::get_lowest_layer(*stream_); }

  /// Starts one asynchronous operation and runs the I/O context until it completes. Past the
  /// deadline or on a stop request the socket is closed, which completes the operation.
  template <class Start>
  beast::error_code wait(Start&& start) {
    bool done = false;
    beast::error_code result;
    ioc_.restart();
    start([&done, &result](beast::error_code ec, auto&&...) {
      result = ec;
      done = true;
    });
    const milliseconds poll = options_.stop_poll > milliseconds(0) ? options_.stop_poll : milliseconds(100);
    while (!done) {
      auto now = steady::now();
      if (interrupted_ == interruption::none) {
        if (now >= deadline_) {
          interrupt(interruption::deadline);
        } else if (options_.should_stop && options_.should_stop()) {
          interrupt(interruption::stopped);
        }
      }
      milliseconds slice = poll;
      if (interrupted_ == interruption::none) {
        slice = std::clamp(std::chrono::ceil<milliseconds>(deadline_ - now), milliseconds(1), poll);
      }
      ioc_.run_one_for(slice);
    }
    return result;
  }

  void interrupt(interruption why) {
    interrupted_ = why;
    resolver_.cancel();
    lowest().close();
  }

  error failure(errc kind, std::string_view step, const beast::error_code& ec) {
    if (interrupted_ == interruption::deadline) {
      return make_error(errc::timeout, "GET " + full_url_ + ": timed out after " +
                                           std::to_string(options_.timeout.count()) + " ms while " + std::string(step));
    }
    if (interrupted_ == interruption::stopped) {
      return make_error(errc::stopped, "GET " + full_url_ + ": stopped while " + std::string(step));
    }
    // A TLS alert after the handshake (TLS 1.3 checks client certificates then) is still TLS.
    if (ec.category() == net::error::get_ssl_category()) kind = errc::tls;
    return make_error(kind, "GET " + full_url_ + ": " + std::string(step) + " failed: " + ec.message());
  }

  result<void> connect() {
    std::string step = "connecting to " + url_.authority;
    beast::error_code ec;
    auto address = net::ip::make_address(url_.host, ec);
    if (!ec) {
      ec = wait([&](auto handler) { lowest().async_connect(tcp::endpoint(address, port()), handler); });
      if (ec) return failure(errc::connect, step, ec);
      return {};
    }
    // Names (kubeconfig servers) go through getaddrinfo, which cancel() cannot interrupt: a
    // hung resolver delays the stop or timeout until its own timeout. In-cluster and kubelet
    // endpoints are IP addresses and never get here.
    tcp::resolver::results_type endpoints;
    ec = wait([&](auto handler) {
      resolver_.async_resolve(url_.host, url_.port,
                              [&endpoints, handler](beast::error_code e, tcp::resolver::results_type found) mutable {
                                endpoints = std::move(found);
                                handler(e);
                              });
    });
    if (ec) return failure(errc::connect, "resolving " + url_.host, ec);
    ec = wait([&](auto handler) { lowest().async_connect(endpoints, handler); });
    if (ec) return failure(errc::connect, step, ec);
    return {};
  }

  unsigned short port() const { return static_cast<unsigned short>(std::stoul(url_.port)); }

  /// TLS with SNI for names and OpenSSL's own host or IP check against the certificate.
  result<void> handshake() {
    SSL* ssl = stream_->native_handle();
    if (is_ip_literal(url_.host)) {
      X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), url_.host.c_str());
    } else {
      SSL_set_tlsext_host_name(ssl, url_.host.c_str());
      SSL_set1_host(ssl, url_.host.c_str());
    }
    auto ec = wait([&](auto handler) { stream_->async_handshake(ssl::stream_base::client, handler); });
    if (!ec) return {};
    auto err = failure(errc::tls, "TLS handshake with " + url_.authority, ec);
    long verdict = SSL_get_verify_result(ssl);
    if (err.kind == errc::tls && verdict != X509_V_OK) {
      err.message += " (server certificate rejected: " + std::string(X509_verify_cert_error_string(verdict)) + ")";
    }
    return err;
  }

  result<void> send_request() {
    http::request<http::empty_body> request{http::verb::get, url_.target, 11};
    request.set(http::field::host, url_.authority);
    request.set(http::field::user_agent, "kepler");
    request.set(http::field::accept, "application/json");
    if (!options_.bearer_token.empty()) {
      request.set(http::field::authorization, "Bearer " + options_.bearer_token);
    }
    request.keep_alive(false);
    auto ec = wait([&](auto handler) { http::async_write(*stream_, request, handler); });
    if (ec) return failure(errc::io, "sending the request", ec);
    return {};
  }

  result<void> read_header() {
    // Limits are the sink's (it knows whether it streams). Not boost::none: Beast 1.74
    // compares a Content-Length against a disabled limit as if it were exceeded.
    parser_.body_limit(std::numeric_limits<std::uint64_t>::max());
    parser_.header_limit(header_limit_bytes);
    auto ec = wait([&](auto handler) { http::async_read_header(*stream_, buffer_, parser_, handler); });
    if (ec) return failure(errc::io, "reading the response headers", ec);
    return {};
  }

  const kube_url& url_;
  std::string full_url_;
  const request_options& options_;
  net::io_context ioc_;
  tcp::resolver resolver_;
  std::optional<Stream> stream_;
  beast::flat_buffer buffer_;
  http::response_parser<http::buffer_body> parser_;
  steady::time_point deadline_;
  interruption interrupted_ = interruption::none;
};

error body_too_large(const std::string& url, std::size_t limit, std::string_view what) {
  return make_error(errc::body_too_large,
                    "GET " + url + ": " + std::string(what) + " exceeds " + std::to_string(limit) + " bytes");
}

template <class Stream>
result<http_response> get_with(const kube_url& url, std::string_view full_url, const request_options& options,
                               ssl::context* tls) {
  exchange<Stream> x(url, full_url, options, tls);
  if (auto opened = x.open(); !opened) return opened.error();
  if (!x.success()) return x.status_error();
  const std::size_t limit = options.max_body_bytes;
  if (auto length = x.content_length(); length && *length > limit) {
    return body_too_large(x.url(), limit, "response body");
  }
  http_response response{x.status(), {}};
  if (auto length = x.content_length()) response.body.reserve(*length);
  auto read = x.read_body([&](std::string_view chunk) -> result<bool> {
    if (chunk.size() > limit - response.body.size()) return body_too_large(x.url(), limit, "response body");
    response.body.append(chunk);
    return true;
  });
  if (!read) return read.error();
  return response;
}

/// Cuts a byte stream into lines without ever holding a line longer than the limit.
class line_splitter {
 public:
  line_splitter(std::size_t max_line, const line_handler& on_line) : max_line_(max_line), on_line_(on_line) {}

  /// Delivers the complete lines of `chunk`; false when the handler asked to stop or a line
  /// grew past the limit (`too_long()`).
  bool feed(std::string_view chunk) {
    while (!chunk.empty()) {
      auto newline = chunk.find('\n');
      auto piece = chunk.substr(0, newline);
      if (piece.size() > max_line_ - pending_.size()) {
        too_long_ = true;
        return false;
      }
      pending_.append(piece);
      if (newline == std::string_view::npos) return true;
      chunk.remove_prefix(newline + 1);
      if (!deliver()) return false;
    }
    return true;
  }

  /// Delivers a last line that had no line break; false if the handler asked to stop.
  bool finish() { return deliver(); }
  bool too_long() const { return too_long_; }

 private:
  bool deliver() {
    if (!pending_.empty() && pending_.back() == '\r') pending_.pop_back();
    if (pending_.empty()) return true;
    bool more = on_line_(pending_);
    pending_.clear();
    return more;
  }

  std::size_t max_line_;
  const line_handler& on_line_;
  std::string pending_;
  bool too_long_ = false;
};

template <class Stream>
result<void> get_lines_with(const kube_url& url, std::string_view full_url, const request_options& options,
                            ssl::context* tls, const line_handler& on_line) {
  exchange<Stream> x(url, full_url, options, tls);
  if (auto opened = x.open(); !opened) return opened.error();
  if (!x.success()) return x.status_error();
  line_splitter lines(options.max_body_bytes, on_line);
  bool stopped_by_handler = false;
  auto read = x.read_body([&](std::string_view chunk) -> result<bool> {
    if (lines.feed(chunk)) return true;
    if (lines.too_long()) return body_too_large(x.url(), options.max_body_bytes, "a line of the stream");
    stopped_by_handler = true;
    return false;
  });
  if (!read) return read.error();
  if (!stopped_by_handler) lines.finish();
  return {};
}

/// Reads a whole PEM file; errors name the file and the system's reason.
result<std::string> read_pem_file(const std::string& path, std::string_view what) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return make_error(errc::config, "cannot read " + std::string(what) + " " + path + ": " + std::strerror(errno));
  }
  std::ostringstream content;
  content << in.rdbuf();
  return content.str();
}

/// The PEM text of a file or in-memory setting, whichever is set (empty when neither).
result<std::string> pem_of(const std::string& file, const std::string& pem, std::string_view what) {
  if (!pem.empty()) return pem;
  if (file.empty()) return std::string();
  return read_pem_file(file, what);
}

error tls_config_error(std::string_view what, const beast::error_code& ec) {
  return make_error(errc::config, "invalid " + std::string(what) + ": " + ec.message());
}

result<void> load_trust(ssl::context& ctx, const kube_tls_settings& tls) {
  beast::error_code ec;
  if (tls.insecure_skip_verify) {
    ctx.set_verify_mode(ssl::verify_none);
    return {};
  }
  ctx.set_verify_mode(ssl::verify_peer);
  auto ca = pem_of(tls.ca_file, tls.ca_pem, "CA file");
  if (!ca) return ca.error();
  if (ca.value().empty()) {
    ctx.set_default_verify_paths(ec);
    if (ec) return tls_config_error("system CA store", ec);
    return {};
  }
  ctx.add_certificate_authority(net::buffer(ca.value()), ec);
  if (ec) return tls_config_error(tls.ca_file.empty() ? "CA data" : "CA file " + tls.ca_file, ec);
  return {};
}

result<void> load_client_identity(ssl::context& ctx, const kube_tls_settings& tls) {
  auto cert = pem_of(tls.client_cert_file, tls.client_cert_pem, "client certificate");
  if (!cert) return cert.error();
  auto key = pem_of(tls.client_key_file, tls.client_key_pem, "client key");
  if (!key) return key.error();
  if (cert.value().empty() && key.value().empty()) return {};
  if (cert.value().empty() || key.value().empty()) {
    return make_error(errc::config, "a client certificate needs both the certificate and its key");
  }
  beast::error_code ec;
  ctx.use_certificate_chain(net::buffer(cert.value()), ec);
  if (ec) return tls_config_error("client certificate", ec);
  ctx.use_private_key(net::buffer(key.value()), ssl::context::pem, ec);
  if (ec) return tls_config_error("client key (or it does not match the certificate)", ec);
  return {};
}

}  // namespace

result<kube_url> parse_kube_url(std::string_view url) {
  auto bad = [&](std::string_view why) {
    return make_error(errc::config, "invalid URL \"" + std::string(url) + "\": " + std::string(why));
  };
  kube_url out;
  std::string_view rest = url;
  if (rest.starts_with("https://")) {
    out.tls = true;
    rest.remove_prefix(8);
  } else if (rest.starts_with("http://")) {
    rest.remove_prefix(7);
  } else {
    return bad("it must start with http:// or https://");
  }
  auto authority_end = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, authority_end);
  std::string_view target = authority_end == std::string_view::npos ? "" : rest.substr(authority_end);
  target = target.substr(0, target.find('#'));
  if (authority.empty()) return bad("no host");
  if (authority.find('@') != std::string_view::npos) return bad("user information in URLs is not supported");
  std::string_view host = authority;
  std::string_view port;
  if (authority.front() == '[') {
    auto close = authority.find(']');
    if (close == std::string_view::npos) return bad("unterminated IPv6 address");
    host = authority.substr(1, close - 1);
    std::string_view after = authority.substr(close + 1);
    if (!after.empty() && after.front() != ':') return bad("unexpected text after the IPv6 address");
    if (!after.empty()) port = after.substr(1);
  } else if (auto colon = authority.find(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
    if (port.find(':') != std::string_view::npos) return bad("IPv6 addresses must be in brackets");
  }
  if (host.empty()) return bad("no host");
  if (port.empty()) port = out.tls ? "443" : "80";
  if (!std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; }) || port.size() > 5 ||
      std::stoul(std::string(port)) == 0 || std::stoul(std::string(port)) > 65535) {
    return bad("invalid port \"" + std::string(port) + "\"");
  }
  out.host = std::string(host);
  out.port = std::string(port);
  out.authority = std::string(authority);
  out.target = target.empty() ? "/" : target.front() == '?' ? "/" + std::string(target) : std::string(target);
  return out;
}

result<kube_http_client> kube_http_client::create(const kube_tls_settings& tls) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                   ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
  if (auto trusted = load_trust(*ctx, tls); !trusted) return trusted.error();
  if (auto identity = load_client_identity(*ctx, tls); !identity) return identity.error();
  return kube_http_client(std::move(ctx));
}

result<http_response> kube_http_client::get(std::string_view url, const request_options& options) const {
  auto parsed = parse_kube_url(url);
  if (!parsed) return parsed.error();
  if (options.bearer_token.find_first_of("\r\n") != std::string::npos) {
    return make_error(errc::token_file, "GET " + std::string(url) + ": the bearer token contains a line break");
  }
  if (parsed.value().tls) return get_with<tls_stream>(parsed.value(), url, options, tls_.get());
  return get_with<plain_stream>(parsed.value(), url, options, nullptr);
}

result<void> kube_http_client::get_lines(std::string_view url, const request_options& options,
                                         const line_handler& on_line) const {
  auto parsed = parse_kube_url(url);
  if (!parsed) return parsed.error();
  if (options.bearer_token.find_first_of("\r\n") != std::string::npos) {
    return make_error(errc::token_file, "GET " + std::string(url) + ": the bearer token contains a line break");
  }
  if (parsed.value().tls) return get_lines_with<tls_stream>(parsed.value(), url, options, tls_.get(), on_line);
  return get_lines_with<plain_stream>(parsed.value(), url, options, nullptr, on_line);
}

}  // namespace kepler
