#pragma once
// A minimal blocking HTTP client for the server tests (Beast, synchronous, with timeouts),
// and helpers that start a server on a loopback port.

#include <algorithm>
#include <cctype>
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <catch2/catch.hpp>

#include "http/metrics_server.hpp"

#include <sys/socket.h>
#include <sys/time.h>

namespace kepler::test {

namespace net = boost::asio;
namespace http = boost::beast::http;
using tcp = net::ip::tcp;
using std::chrono::steady_clock;

/// What a test looks at in a response.
struct reply {
  unsigned status = 0;
  std::string content_type;
  std::string allow;
  std::string content_length;
  std::string body;
  bool keep_alive = false;
  std::map<std::string, std::string> headers;  ///< every header, names in lower case

  std::string header(const std::string& lower_name) const {
    auto found = headers.find(lower_name);
    return found == headers.end() ? std::string() : found->second;
  }
};

using header_list = std::vector<std::pair<std::string, std::string>>;

/// Sends one request over any synchronous stream (plain or TLS) and reads its response.
template <class SyncStream>
reply exchange(SyncStream& stream, boost::beast::flat_buffer& buffer, http::verb method, std::string_view target,
               bool keep_alive, const header_list& extra = {}) {
  http::request<http::empty_body> req{method, std::string(target), 11};
  req.set(http::field::host, "localhost");
  for (const auto& [name, value] : extra) req.set(name, value);
  req.keep_alive(keep_alive);
  http::write(stream, req);
  http::response_parser<http::string_body> parser;
  parser.body_limit(256 * 1024 * 1024);
  parser.skip(method == http::verb::head);
  http::read(stream, buffer, parser);
  const auto& res = parser.get();
  reply out;
  out.status = res.result_int();
  out.content_type = std::string(res[http::field::content_type]);
  out.allow = std::string(res[http::field::allow]);
  out.content_length = std::string(res[http::field::content_length]);
  out.body = res.body();
  out.keep_alive = res.keep_alive();
  for (const auto& field : res) {
    std::string name(field.name_string());
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out.headers[name] = std::string(field.value());
  }
  return out;
}

/// One client connection; every blocking call gives up after `timeout`.
class client {
 public:
  /// `from`: the local address to connect from (e.g. 127.0.0.2, another loopback client).
  explicit client(unsigned short port, std::string_view host = "127.0.0.1",
                  std::chrono::seconds timeout = std::chrono::seconds(10), std::string_view from = {})
      : socket_(ioc_) {
    const auto address = net::ip::make_address(std::string(host));
    if (!from.empty()) {
      socket_.open(address.is_v4() ? tcp::v4() : tcp::v6());
      socket_.bind({net::ip::make_address(std::string(from)), 0});
    }
    socket_.connect({address, port});
    timeval tv{static_cast<time_t>(timeout.count()), 0};
    setsockopt(socket_.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(socket_.native_handle(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
  }

  /// Sends one request and reads its response (HEAD responses are read without a body).
  reply request(http::verb method, std::string_view target, bool keep_alive = true, const header_list& extra = {}) {
    return exchange(socket_, buffer_, method, target, keep_alive, extra);
  }
  reply get(std::string_view target) { return request(http::verb::get, target); }

  /// Writes raw bytes, then reads everything until the server closes the connection.
  std::string exchange_raw(std::string_view bytes) {
    net::write(socket_, net::buffer(bytes.data(), bytes.size()));
    return read_to_end();
  }

  /// Reads until the server closes; throws if it does not within the timeout.
  std::string read_to_end() {
    std::string out;
    boost::system::error_code ec;
    net::read(socket_, net::dynamic_buffer(out), ec);
    if (ec != net::error::eof && ec != net::error::connection_reset) throw boost::system::system_error(ec);
    return out;
  }

  tcp::socket& socket() { return socket_; }

 private:
  net::io_context ioc_;
  tcp::socket socket_;
  boost::beast::flat_buffer buffer_;
};

/// One request on a fresh connection.
inline reply fetch(unsigned short port, std::string_view target, http::verb method = http::verb::get) {
  return client(port).request(method, target, false);
}

/// Starts a server with `opts`, failing the test with the server's message if it cannot.
inline std::unique_ptr<metrics_server> start_with(const metrics_server::options& opts) {
  auto started = metrics_server::start(opts);
  if (!started) FAIL(started.error_message());
  return std::move(started).value();
}

/// Starts a server on `addresses`, failing the test with the server's message if it cannot.
inline std::unique_ptr<metrics_server> start_on(std::vector<std::string> addresses, bool metrics_enabled = true) {
  return start_with({std::move(addresses), metrics_enabled});
}

/// Starts a server on an ephemeral loopback port.
inline std::unique_ptr<metrics_server> start_local(bool metrics_enabled = true) {
  return start_on({"127.0.0.1:0"}, metrics_enabled);
}

/// A server on an ephemeral loopback port and the port it got.
struct local_server {
  std::unique_ptr<metrics_server> server;
  unsigned short port;
};

/// `auto [server, port] = serve_local();`
inline local_server serve_local(bool metrics_enabled = true) {
  auto server = start_local(metrics_enabled);
  const auto port = server->bound_ports().at(0);
  return {std::move(server), port};
}

/// The drops a server reported, for tests that check every dropped connection is counted.
class drop_log {
 public:
  drop_observer observer() {
    return [this](http_drop reason, const std::string&) {
      std::lock_guard guard(mutex_);
      reasons_.push_back(reason);
    };
  }
  /// How many drops for `reason` were reported, waiting up to `wait` for at least one.
  std::size_t count(http_drop reason, std::chrono::milliseconds wait = std::chrono::milliseconds(2000)) {
    const auto deadline = std::chrono::steady_clock::now() + wait;
    for (;;) {
      std::size_t n = 0;
      {
        std::lock_guard guard(mutex_);
        n = std::count(reasons_.begin(), reasons_.end(), reason);
      }
      if (n > 0 || std::chrono::steady_clock::now() >= deadline) return n;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }

 private:
  std::mutex mutex_;
  std::vector<http_drop> reasons_;
};

/// A server on an ephemeral loopback port with these limits and web config; drops go to `drops`.
inline local_server serve_local_with(server_limits limits, std::string web_config_file = {},
                                     drop_log* drops = nullptr) {
  metrics_server::options opts{{"127.0.0.1:0"}, true};
  opts.limits = limits;
  opts.web_config_file = std::move(web_config_file);
  if (drops) opts.on_drop = drops->observer();
  auto server = start_with(opts);
  const auto port = server->bound_ports().at(0);
  return {std::move(server), port};
}

inline std::shared_ptr<const std::string> document(std::string text) {
  return std::make_shared<const std::string>(std::move(text));
}

/// A document of about 1.3 MB, so that a scrape spans many socket writes.
inline std::shared_ptr<const std::string> large_document(char tag) {
  std::string text;
  for (int i = 0; i < 40000; ++i) text += "kepler_process_cpu_watts{pid=\"" + std::to_string(i) + "\"} " + tag + "\n";
  return document(std::move(text));
}

}  // namespace kepler::test
