#pragma once
// One client connection of the metrics server (Beast, runs on the server's I/O thread).

#include <array>
#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/string_body.hpp>

#include "http/routes.hpp"
#include "http/shared_string_body.hpp"

namespace kepler {

/// What publish() (any thread) shares with the I/O thread.
class served_state {
 public:
  explicit served_state(bool metrics_enabled) : metrics_enabled_(metrics_enabled) {}

  /// Swaps in a new document; the old one is released outside the lock.
  void publish(std::shared_ptr<const std::string> metrics);
  /// Copies what a request needs; holds the lock only for a pointer copy.
  route_state snapshot() const;

 private:
  const bool metrics_enabled_;
  std::atomic<bool> ready_{false};
  mutable std::mutex mutex_;
  std::shared_ptr<const std::string> metrics_;
};

/// Reads requests one at a time, answers them through route(), keeps the connection alive
/// when the client asks. Every error ends the connection and nothing else.
class http_session : public std::enable_shared_from_this<http_session> {
 public:
  http_session(boost::asio::ip::tcp::socket socket, std::shared_ptr<const served_state> state);

  /// Starts reading the first request.
  void start();
  /// Server stop: closes now when idle, otherwise right after the response in flight.
  void shutdown();

 private:
  using response_type = boost::beast::http::response<shared_string_body>;

  void read_next();
  void on_read(boost::beast::error_code ec);
  void answer();
  void send_error(unsigned status);
  void write(response_type response);
  void on_write(bool keep_alive, boost::beast::error_code ec);
  void linger();
  void drain();
  void close();

  boost::beast::tcp_stream stream_;
  boost::beast::flat_buffer buffer_;
  std::optional<boost::beast::http::request_parser<boost::beast::http::string_body>> parser_;
  std::optional<response_type> response_;  // alive until its write completes
  std::array<char, 512> drain_{};
  std::shared_ptr<const served_state> state_;
  bool writing_ = false;
  bool closing_ = false;
};

}  // namespace kepler
