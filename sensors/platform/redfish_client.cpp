#include "sensors/platform/redfish_client.hpp"

#include <functional>

#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509_vfy.h>
#include <simdjson.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>

#include "base/text.hpp"

namespace kepler {
namespace {

namespace net = boost::asio;
namespace ssl = net::ssl;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;

constexpr std::uint64_t max_body_bytes = 8u << 20;  // a Redfish resource is kilobytes
constexpr std::size_t error_snippet_bytes = 200;
// The logout at shutdown must not hold the daemon's stop up for long.
constexpr std::chrono::milliseconds last_request_limit{1000};

struct endpoint {
  bool tls = false;
  std::string host, port, authority;
};

result<endpoint> parse_endpoint(std::string_view url) {
  endpoint out;
  std::string_view rest = url;
  if (rest.starts_with("https://")) {
    out.tls = true;
    rest.remove_prefix(8);
  } else if (rest.starts_with("http://")) {
    rest.remove_prefix(7);
  } else {
    return make_error(errc::config, "endpoint \"" + std::string(url) + "\" must start with http:// or https://");
  }
  rest = rest.substr(0, rest.find('/'));  // Redfish paths are absolute: a path in the endpoint is ignored
  out.authority = std::string(rest);
  if (!rest.empty() && rest.front() == '[') {
    auto close = rest.find(']');
    if (close == std::string_view::npos)
      return make_error(errc::config, "endpoint \"" + std::string(url) + "\": unterminated IPv6 address");
    out.host = std::string(rest.substr(1, close - 1));
    if (rest.size() > close + 2 && rest[close + 1] == ':') out.port = std::string(rest.substr(close + 2));
  } else {
    auto colon = rest.rfind(':');
    out.host = std::string(rest.substr(0, colon));
    if (colon != std::string_view::npos) out.port = std::string(rest.substr(colon + 1));
  }
  unsigned port = 0;
  if (out.port.empty()) out.port = out.tls ? "443" : "80";
  if (out.host.empty() || !parse_decimal(std::string_view(out.port), port) || port == 0 || port > 65535)
    return make_error(errc::config, "endpoint \"" + std::string(url) + "\" has no valid host and port");
  return out;
}

std::string base64(std::string_view text) {
  std::string out(4 * ((text.size() + 2) / 3) + 1, '\0');
  auto length = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(text.data()), static_cast<int>(text.size()));
  out.resize(static_cast<std::size_t>(length));
  return out;
}

std::string json_string(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    if (static_cast<unsigned char>(c) < 0x20) {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\u%04x", c);
      out += escaped;
      continue;
    }
    out += c;
  }
  return out + "\"";
}

std::string snippet(std::string_view body) {
  std::string out(body.substr(0, error_snippet_bytes));
  for (char& c : out)
    if (c == '\n' || c == '\r') c = ' ';
  return body.size() > error_snippet_bytes ? out + "…" : out;
}

std::optional<std::chrono::seconds> retry_after_of(std::string_view value) {
  unsigned seconds = 0;
  if (parse_decimal(trim_space(value), seconds)) return std::chrono::seconds(seconds);
  return std::nullopt;  // an HTTP date: rare on BMCs; the backoff applies instead
}

}  // namespace

struct bmc_connection::impl {
  endpoint where;
  std::chrono::milliseconds timeout;
  net::io_context ioc;
  ssl::context tls{ssl::context::tls_client};
  std::optional<beast::tcp_stream> plain;
  std::optional<beast::ssl_stream<beast::tcp_stream>> secure;
  beast::flat_buffer buffer;
  bool connected = false;
  uint64_t connects = 0;
  bool timed_out = false;
  std::function<bool()> should_stop;  ///< polled while waiting; true: give up at once
  bool may_stop = true;               ///< false for the last request (the logout at shutdown)
  bool stopped = false;

  beast::tcp_stream& lowest() { return secure ? beast::get_lowest_layer(*secure) : *plain; }

  /// Runs one asynchronous operation to completion; the stream's expiry ends it on time, and a
  /// stop request (polled every 100 ms) ends it at once by closing the socket.
  template <class Start>
  beast::error_code run(Start&& start) {
    beast::error_code outcome;
    bool done = false;
    start([&outcome, &done](beast::error_code ec, auto&&...) {
      outcome = ec;
      done = true;
    });
    ioc.restart();
    while (!done) {
      ioc.run_one_for(std::chrono::milliseconds(100));
      if (!done && !stopped && may_stop && should_stop && should_stop()) {
        stopped = true;
        lowest().close();
      }
    }
    if (outcome == beast::error::timeout) timed_out = true;
    return outcome;
  }

  error failure(errc kind, const std::string& step, const beast::error_code& ec) {
    connected = false;
    if (stopped) return make_error(errc::stopped, step + ": stopped (shutting down)");
    if (timed_out)
      return make_error(errc::timeout, step + ": no answer within " + std::to_string(timeout.count()) + " ms");
    if (ec.category() == net::error::get_ssl_category()) kind = errc::tls;
    return make_error(kind, step + ": " + ec.message());
  }

  result<void> connect(std::chrono::steady_clock::time_point deadline) {
    plain.reset();
    secure.reset();
    buffer.clear();
    if (where.tls) secure.emplace(ioc, tls);
    else plain.emplace(ioc);
    ++connects;
    lowest().expires_at(deadline);
    tcp::resolver resolver(ioc);
    tcp::resolver::results_type found;
    auto ec = run([&](auto handler) {
      resolver.async_resolve(where.host, where.port, [&found, handler](beast::error_code e, auto results) mutable {
        found = std::move(results);
        handler(e);
      });
    });
    if (ec) return failure(errc::connect, "resolving " + where.host, ec);
    ec = run([&](auto handler) { lowest().async_connect(found, handler); });
    if (ec) return failure(errc::connect, "connecting to " + where.authority, ec);
    if (secure) {
      if (auto shaken = handshake(); !shaken) return shaken;
    }
    connected = true;
    return {};
  }

  result<void> handshake() {
    SSL* handle = secure->native_handle();
    beast::error_code ip_ec;
    net::ip::make_address(where.host, ip_ec);
    if (!ip_ec) {
      X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(handle), where.host.c_str());
    } else {
      SSL_set_tlsext_host_name(handle, where.host.c_str());
      SSL_set1_host(handle, where.host.c_str());
    }
    auto ec = run([&](auto handler) { secure->async_handshake(ssl::stream_base::client, handler); });
    if (!ec) return {};
    auto err = failure(errc::tls, "TLS handshake with " + where.authority, ec);
    if (long verdict = SSL_get_verify_result(handle); err.kind == errc::tls && verdict != X509_V_OK)
      err.message += " (certificate rejected: " + std::string(X509_verify_cert_error_string(verdict)) + ")";
    return err;
  }

  template <class Stream>
  result<bmc_response> exchange(Stream& stream, http::request<http::string_body>& request, const std::string& what) {
    auto ec = run([&](auto handler) { http::async_write(stream, request, handler); });
    if (ec) return failure(errc::io, what + ": sending", ec);
    http::response_parser<http::string_body> parser;
    parser.body_limit(max_body_bytes);
    ec = run([&](auto handler) { http::async_read(stream, buffer, parser, handler); });
    if (ec == http::error::body_limit) {
      connected = false;
      return make_error(errc::body_too_large,
                        what + ": the answer exceeds " + std::to_string(max_body_bytes) + " bytes");
    }
    if (ec) return failure(errc::io, what + ": reading the answer", ec);
    auto& response = parser.get();
    if (!response.keep_alive()) connected = false;
    bmc_response out;
    out.status = response.result_int();
    out.body = std::move(response.body());
    out.location = std::string(response[http::field::location]);
    out.auth_token = std::string(response["X-Auth-Token"]);
    if (auto retry = response.find(http::field::retry_after); retry != response.end())
      out.retry_after = retry_after_of(std::string_view(retry->value().data(), retry->value().size()));
    return out;
  }

  result<bmc_response> send_once(http::request<http::string_body>& request, const std::string& what,
                                 std::chrono::steady_clock::time_point deadline) {
    timed_out = false;
    stopped = false;
    lowest().expires_at(deadline);
    return secure ? exchange(*secure, request, what) : exchange(*plain, request, what);
  }
};

bmc_connection::bmc_connection(std::unique_ptr<impl> state) : impl_(std::move(state)) {}
bmc_connection::~bmc_connection() = default;

result<std::unique_ptr<bmc_connection>> bmc_connection::open(const redfish_bmc& bmc, std::chrono::milliseconds timeout,
                                                             std::function<bool()> should_stop) {
  auto where = parse_endpoint(bmc.endpoint);
  if (!where) return where.error();
  auto state = std::make_unique<impl>();
  state->where = where.value();
  state->timeout = timeout;
  state->should_stop = std::move(should_stop);
  state->tls.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 | ssl::context::no_sslv3 |
                         ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1);
  beast::error_code ec;
  if (bmc.insecure) {
    state->tls.set_verify_mode(ssl::verify_none);
  } else {
    state->tls.set_verify_mode(ssl::verify_peer);
    if (bmc.ca_file.empty()) state->tls.set_default_verify_paths(ec);
    else state->tls.load_verify_file(bmc.ca_file, ec);
    if (ec)
      return make_error(errc::config, "BMC " + bmc.id + ": cannot load " +
                                          (bmc.ca_file.empty() ? "the system's CA store" : "caFile " + bmc.ca_file) +
                                          ": " + ec.message());
  }
  return std::unique_ptr<bmc_connection>(new bmc_connection(std::move(state)));
}

result<bmc_response> bmc_connection::send(std::string_view method, std::string_view target, std::string_view body,
                                          const std::vector<bmc_header>& headers, bool last) {
  auto& s = *impl_;
  http::request<http::string_body> request{http::string_to_verb({method.data(), method.size()}), std::string(target),
                                           11};
  request.set(http::field::host, s.where.authority);
  request.set(http::field::user_agent, "kepler");
  request.set(http::field::accept, "application/json");
  for (const auto& header : headers) request.set(header.name, header.value);
  if (!body.empty()) {
    request.set(http::field::content_type, "application/json");
    request.body() = std::string(body);
  }
  request.keep_alive(true);
  request.prepare_payload();
  const std::string what = std::string(method) + " " + std::string(target);
  s.may_stop = !last;
  const auto deadline = std::chrono::steady_clock::now() + (last ? std::min(s.timeout, last_request_limit) : s.timeout);
  bool reused = s.connected;
  if (!s.connected)
    if (auto connected = s.connect(deadline); !connected) return connected.error();
  auto answer = s.send_once(request, what, deadline);
  // The BMC may have closed a kept connection since the last request: one fresh try.
  if (!answer && reused && answer.error_kind() == errc::io) {
    if (auto connected = s.connect(deadline); !connected) return connected.error();
    answer = s.send_once(request, what, deadline);
  }
  return answer;
}

uint64_t bmc_connection::connects() const { return impl_->connects; }

void bmc_connection::close() {
  auto& s = *impl_;
  if (!s.connected) return;
  beast::error_code ignored;
  s.lowest().socket().shutdown(tcp::socket::shutdown_both, ignored);
  s.lowest().close();
  s.connected = false;
}

result<redfish_client> redfish_client::create(const redfish_bmc& bmc, std::chrono::milliseconds timeout,
                                              std::function<bool()> should_stop) {
  auto connection = bmc_connection::open(bmc, timeout, std::move(should_stop));
  if (!connection) return connection.error();
  return redfish_client(bmc, std::shared_ptr<bmc_connection>(std::move(connection).value()));
}

std::vector<bmc_header> redfish_client::auth_headers() const {
  if (bmc_.username.empty()) return {};
  if (bmc_.auth == redfish_auth::basic)
    return {{"Authorization", "Basic " + base64(bmc_.username + ":" + bmc_.password)}};
  if (session_token_.empty()) return {};
  return {{"X-Auth-Token", session_token_}};
}

/// Creates a session at the service root's Sessions collection.
result<void> redfish_client::log_in() {
  auto root = connection_->send("GET", "/redfish/v1/", "");
  if (!root) return root.error();
  if (root.value().status / 100 != 2)
    return make_error(errc::http_status, "GET /redfish/v1/: HTTP " + std::to_string(root.value().status),
                      static_cast<int>(root.value().status));
  simdjson::dom::parser parser;
  std::string_view sessions;
  if (parser.parse(root.value().body)["Links"]["Sessions"]["@odata.id"].get(sessions) != simdjson::SUCCESS)
    return make_error(errc::parse, "the service root names no Sessions collection, so no session can be created");
  std::string path(sessions);
  auto body = "{\"UserName\":" + json_string(bmc_.username) + ",\"Password\":" + json_string(bmc_.password) + "}";
  auto created = connection_->send("POST", path, body);
  if (!created) return created.error();
  const auto& answer = created.value();
  if (answer.status == 401 || answer.status == 403)
    return make_error(errc::auth,
                      "POST " + path + ": HTTP " + std::to_string(answer.status) + " (the BMC refused user " +
                          bmc_.username + ")",
                      static_cast<int>(answer.status));
  if (answer.status / 100 != 2 || answer.auth_token.empty())
    return make_error(errc::http_status,
                      "POST " + path + ": HTTP " + std::to_string(answer.status) + " without a session token",
                      static_cast<int>(answer.status));
  session_token_ = answer.auth_token;
  session_url_ = answer.location;
  return {};
}

result<bmc_response> redfish_client::send_authenticated(std::string_view path) {
  bool needs_session = bmc_.auth == redfish_auth::session && !bmc_.username.empty();
  if (needs_session && session_token_.empty())
    if (auto in = log_in(); !in) return in.error();
  auto answer = connection_->send("GET", path, "", auth_headers());
  if (answer && answer.value().status == 401 && needs_session) {
    session_token_.clear();  // expired, or the BMC restarted and forgot it
    if (auto in = log_in(); !in) return in.error();
    answer = connection_->send("GET", path, "", auth_headers());
  }
  return answer;
}

result<std::string> redfish_client::get(std::string_view path) {
  retry_after_.reset();
  auto answer = send_authenticated(path);
  if (!answer) return answer.error();
  auto& response = answer.value();
  const std::string what = "GET " + std::string(path) + ": HTTP " + std::to_string(response.status);
  if (response.status == 401 || response.status == 403)
    return make_error(errc::auth, what + " (credentials refused)", static_cast<int>(response.status));
  if (response.status / 100 != 2) {
    retry_after_ = response.retry_after;
    return make_error(errc::http_status, what + (response.body.empty() ? "" : ": " + snippet(response.body)),
                      static_cast<int>(response.status));
  }
  return std::move(response.body);
}

void redfish_client::logout() {
  if (session_url_.empty()) return;
  (void)connection_->send("DELETE", session_url_, "", auth_headers(), true);
  session_token_.clear();
  session_url_.clear();
  connection_->close();
}

}  // namespace kepler
