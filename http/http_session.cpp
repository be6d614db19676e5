#include "http/http_session.hpp"

#include <chrono>
#include <string_view>

#include <boost/beast/http/error.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/write.hpp>

namespace kepler {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
using tcp = boost::asio::ip::tcp;

// A stuck or slow client holds a socket for at most this long per request.
constexpr auto read_timeout = std::chrono::seconds(30);
constexpr auto write_timeout = std::chrono::seconds(30);
// After a final response, how long to drain what the client still sends so that closing
// does not reset the connection before the client has read the response.
constexpr auto linger_timeout = std::chrono::seconds(2);
constexpr std::uint32_t header_limit = 8 * 1024;
constexpr std::uint64_t body_limit = 1024;  // GET and HEAD carry no body worth reading

beast::string_view to_beast(std::string_view text) { return {text.data(), text.size()}; }
std::string_view to_std(beast::string_view text) { return {text.data(), text.size()}; }

bool is_parse_error(const beast::error_code& ec) {
  return ec.category() == http::make_error_code(http::error::bad_method).category() &&
         ec != http::error::end_of_stream && ec != http::error::partial_message;
}

}  // namespace

void served_state::publish(std::shared_ptr<const std::string> metrics) {
  {
    std::lock_guard guard(mutex_);
    metrics_.swap(metrics);
  }
  ready_.store(true, std::memory_order_release);
}

route_state served_state::snapshot() const {
  route_state state;
  state.metrics_enabled = metrics_enabled_;
  state.ready = ready_.load(std::memory_order_acquire);
  std::lock_guard guard(mutex_);
  state.metrics = metrics_;
  return state;
}

http_session::http_session(tcp::socket socket, std::shared_ptr<const served_state> state)
    : stream_(std::move(socket)), state_(std::move(state)) {}

void http_session::start() { read_next(); }

void http_session::shutdown() {
  closing_ = true;
  if (!writing_) close();
}

void http_session::read_next() {
  // A parser handles one message; a fresh one per request.
  parser_.emplace();
  parser_->header_limit(header_limit);
  parser_->body_limit(body_limit);
  stream_.expires_after(read_timeout);
  http::async_read(stream_, buffer_, *parser_,
                   [self = shared_from_this()](beast::error_code ec, std::size_t) { self->on_read(ec); });
}

void http_session::on_read(beast::error_code ec) {
  if (closing_) return close();
  if (!ec) return answer();
  if (ec == http::error::header_limit) return send_error(431);
  if (ec == http::error::body_limit) return send_error(413);
  if (is_parse_error(ec)) return send_error(400);
  close();  // end of stream, reset, timeout: nobody to answer
}

void http_session::answer() {
  try {
    const auto& request = parser_->get();
    const auto reply = route(to_std(request.method_string()), to_std(request.target()), state_->snapshot());
    response_type response{static_cast<http::status>(reply.status), request.version()};
    response.set(http::field::server, "kepler");
    response.set(http::field::content_type, to_beast(reply.content_type));
    if (reply.allow_get_head) response.set(http::field::allow, "GET, HEAD");
    response.content_length(reply.body->size());
    // HEAD: same headers, Content-Length of the GET body, no body.
    if (request.method() != http::verb::head) response.body() = reply.body;
    response.keep_alive(request.keep_alive());
    write(std::move(response));
  } catch (...) {
    close();  // no logger here: the connection is dropped and the server goes on
  }
}

void http_session::send_error(unsigned status) {
  static const auto bad_request = std::make_shared<const std::string>("bad request");
  static const auto too_large = std::make_shared<const std::string>("request body too large");
  static const auto header_too_large = std::make_shared<const std::string>("request header too large");
  const auto& body = status == 413 ? too_large : status == 431 ? header_too_large : bad_request;
  try {
    response_type response{static_cast<http::status>(status), 11};
    response.set(http::field::server, "kepler");
    response.set(http::field::content_type, to_beast(text_content_type));
    response.content_length(body->size());
    response.body() = body;
    response.keep_alive(false);  // what follows a malformed request cannot be trusted
    write(std::move(response));
  } catch (...) {
    close();
  }
}

void http_session::write(response_type response) {
  response_ = std::move(response);
  writing_ = true;
  stream_.expires_after(write_timeout);
  http::async_write(stream_, *response_,
                    [self = shared_from_this(), keep_alive = response_->keep_alive()](
                        beast::error_code ec, std::size_t) { self->on_write(keep_alive, ec); });
}

void http_session::on_write(bool keep_alive, beast::error_code ec) {
  writing_ = false;
  response_.reset();
  if (ec || closing_) return close();
  if (!keep_alive) return linger();
  read_next();
}

void http_session::linger() {
  beast::error_code ignored;
  stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
  stream_.expires_after(linger_timeout);  // once: a chatty client cannot extend it
  drain();
}

void http_session::drain() {
  stream_.async_read_some(boost::asio::buffer(drain_), [self = shared_from_this()](beast::error_code ec, std::size_t) {
    if (ec || self->closing_) return self->close();
    self->drain();
  });
}

void http_session::close() {
  beast::error_code ignored;
  stream_.socket().shutdown(tcp::socket::shutdown_both, ignored);
  stream_.close();
}

}  // namespace kepler
