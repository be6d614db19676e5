#include "http/http_session.hpp"

#include <array>
#include <functional>
#include <string_view>
#include <type_traits>
#include <utility>

#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/detect_ssl.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/error.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/parser.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include "http/gzip.hpp"
#include "http/shared_string_body.hpp"

namespace kepler {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using steady = std::chrono::steady_clock;
using plain_stream = beast::tcp_stream;
using tls_stream = beast::ssl_stream<beast::tcp_stream>;

// After a final response, how long to drain what the client still sends (or to exchange TLS
// close_notify) so that closing does not reset the connection before the response is read.
constexpr auto linger_timeout = std::chrono::seconds(2);
constexpr std::size_t idle_read_size = 1024;

/// The body of a 500 for a document that could not be rendered (out of memory).
const std::shared_ptr<const std::string>& rendering_failed() {
  static const auto body = std::make_shared<const std::string>("rendering the metrics failed (out of memory?)");
  return body;
}

template <class Stream>
constexpr bool is_tls = std::is_same_v<Stream, tls_stream>;

beast::string_view to_beast(std::string_view text) { return {text.data(), text.size()}; }
std::string_view to_std(beast::string_view text) { return {text.data(), text.size()}; }

/// What a reply carries: a document's gzip form when the client takes it (and it could be
/// made), else its text, or a route's fixed body.
struct document_body {
  std::shared_ptr<const std::string> bytes;
  bool gzip = false;
  bool gzip_failed = false;  // the client asked for gzip; compression ran out of memory
};

document_body body_of(const metrics_document& document, bool accepts_gzip) {
  if (!accepts_gzip) return {document.text()};
  if (auto compressed = document.gzipped()) return {std::move(compressed), true};
  return {document.text(), false, true};
}

bool is_parse_error(const beast::error_code& ec) {
  return ec.category() == http::make_error_code(http::error::bad_method).category() &&
         ec != http::error::end_of_stream && ec != http::error::partial_message;
}

std::shared_ptr<const std::string> constant(const char* text) { return std::make_shared<const std::string>(text); }

/// How closing a connection in `phase` to make room is counted and logged.
std::pair<http_drop, const char*> eviction_of(connection_phase phase) {
  switch (phase) {
    case connection_phase::idle:
      return {http_drop::evicted, "an idle keep-alive connection closed to make room for a new one"};
    case connection_phase::request:
      return {http_drop::evicted_request, "an unfinished request closed to make room for a new connection"};
    case connection_phase::working:
      return {http_drop::evicted_request, "a request waiting for a worker closed to make room for a new connection"};
    default:
      return {http_drop::evicted_response, "a response its client did not read closed to make room for a new one"};
  }
}

template <class Stream>
class http_session final : public connection, public std::enable_shared_from_this<http_session<Stream>> {
 public:
  http_session(tcp::socket socket, std::shared_ptr<const session_env> env, std::shared_ptr<const web_security> security)
      : stream_(make_stream(std::move(socket), *security)), env_(std::move(env)), security_(std::move(security)) {
    env_->open->fetch_add(1);
  }
  ~http_session() override { env_->open->fetch_sub(1); }

  void start() override {
    lowest().expires_after(env_->limits.header_timeout);  // handshake and first request together
    if constexpr (is_tls<Stream>) detect_tls();
    else read_request();
  }

  void shutdown() override {
    closing_ = true;
    if (!busy_) close();
  }

  bool evict() override {
    const auto phase = status_.phase;
    if (phase == connection_phase::closed) return false;
    evicted_ = true;  // a worker job of this connection not yet begun is skipped
    // A lingering connection has had its answer: closing it drops nothing of the client's.
    if (phase != connection_phase::lingering) {
      const auto [reason, detail] = eviction_of(phase);
      env_->dropped(reason, detail);
    }
    close();
    return true;
  }

  connection_status status() const override { return status_; }

 private:
  using response_type = http::response<shared_string_body>;

  static Stream make_stream(tcp::socket socket, const web_security& security) {
    if constexpr (is_tls<Stream>) return Stream(std::move(socket), *security.tls);
    else return Stream(std::move(socket));
  }

  beast::tcp_stream& lowest() { return beast::get_lowest_layer(stream_); }
  std::shared_ptr<http_session> self() { return this->shared_from_this(); }
  void enter(connection_phase phase) { status_ = {phase, steady::now()}; }

  /// Runs `work` on a worker thread, then `then(result)` back on the I/O thread. The tracked
  /// executor keeps the I/O loop, and so a graceful stop, waiting for it.
  void off_io_thread(std::function<bool()> work, std::function<void(bool)> then) {
    busy_ = true;
    enter(connection_phase::working);
    auto io = net::prefer(stream_.get_executor(), net::execution::outstanding_work.tracked);
    net::post(*env_->workers, [self = self(), work = std::move(work), then = std::move(then), io]() mutable {
      bool outcome = false;
      try {
        // Evicted while queued: the client is gone, so a bcrypt run would be wasted (and an
        // attacker could queue them faster than they run).
        if (!self->evicted_) outcome = work();
      } catch (...) {
        self->env_->dropped(http_drop::exception, current_exception_text());  // out of memory: a failed check
      }
      net::post(io, [self = std::move(self), then = std::move(then), outcome] {
        self->busy_ = false;
        if (self->closing_ || self->evicted_) return self->close();
        then(outcome);
      });
    });
  }

  void detect_tls() {
    beast::async_detect_ssl(lowest(), buffer_, [self = self()](beast::error_code ec, bool tls) {
      if (ec && !self->closing_) self->report(ec, http_drop::tls_handshake, http_drop::tls_handshake);
      if (ec || self->closing_) return self->close();
      if (!tls) return self->refuse_plain_http();
      self->handshake();
    });
  }

  void handshake() {
    if constexpr (is_tls<Stream>) {
      stream_.async_handshake(net::ssl::stream_base::server, buffer_.data(),
                              [self = self()](beast::error_code ec, std::size_t used) {
                                if (ec && !self->closing_)
                                  self->report(ec, http_drop::tls_handshake, http_drop::tls_handshake);
                                if (ec || self->closing_) return self->close();
                                self->buffer_.consume(used);
                                self->read_request();
                              });
    }
  }

  /// Plain HTTP sent to a TLS port gets Go's answer in plain text, then the connection ends.
  void refuse_plain_http() {
    static constexpr std::string_view answer =
        "HTTP/1.0 400 Bad Request\r\n\r\nClient sent an HTTP request to an HTTPS server.\n";
    env_->dropped(http_drop::plain_http_on_tls, "plain HTTP sent to the TLS port");
    busy_ = true;
    enter(connection_phase::response);
    lowest().expires_after(env_->limits.write_timeout);
    net::async_write(lowest(), net::buffer(answer.data(), answer.size()),
                     [self = self()](beast::error_code ec, std::size_t) {
                       self->busy_ = false;
                       if (ec || self->closing_) return self->close();
                       self->linger_plain();
                     });
  }

  bool tls_pending() {
    if constexpr (is_tls<Stream>) return SSL_pending(stream_.native_handle()) > 0;
    else return false;
  }

  /// Keep-alive: waits (idle timeout) for the first byte of the next request, then gives the
  /// whole request the header timeout.
  void wait_for_request() {
    parser_.reset();
    if (buffer_.size() > 0 || tls_pending()) {  // pipelined: already here
      enter(connection_phase::request);
      lowest().expires_after(env_->limits.header_timeout);
      return read_request();
    }
    enter(connection_phase::idle);
    lowest().expires_after(env_->limits.idle_timeout);
    stream_.async_read_some(buffer_.prepare(idle_read_size), [self = self()](beast::error_code ec, std::size_t n) {
      if (ec && !self->closing_) self->report(ec, http_drop::idle_timeout, http_drop::read_error);
      if (ec || self->closing_ || self->evicted_) return self->close();
      self->enter(connection_phase::request);
      self->buffer_.commit(n);
      self->lowest().expires_after(self->env_->limits.header_timeout);
      self->read_request();
    });
  }

  void read_request() {
    parser_.emplace();  // a parser handles one message
    parser_->header_limit(env_->limits.header_limit);
    parser_->body_limit(env_->limits.body_limit);
    http::async_read(stream_, buffer_, *parser_,
                     [self = self()](beast::error_code ec, std::size_t) { self->on_read(ec); });
  }

  void on_read(beast::error_code ec) {
    if (closing_ || evicted_) return close();
    if (!ec) return authorize();
    if (ec == http::error::header_limit) return send_error(431);
    if (ec == http::error::body_limit) return send_error(413);
    if (is_parse_error(ec)) return send_error(400);
    report(ec, http_drop::request_timeout, http_drop::read_error);  // nobody to answer
    close();
  }

  /// Cached credentials are checked here; bcrypt runs on a worker so that it never holds up
  /// the other clients.
  void authorize() {
    if (!security_->auth) return respond();
    std::string authorization(to_std(parser_->get()[http::field::authorization]));
    switch (security_->auth->quick_check(authorization)) {
      case basic_auth::verdict::granted: return respond();
      case basic_auth::verdict::denied: return send_unauthorized();
      case basic_auth::verdict::needs_bcrypt: break;
    }
    off_io_thread([auth = security_->auth,
                   authorization = std::move(authorization)] { return auth->verify(authorization); },
                  [this](bool granted) { granted ? respond() : send_unauthorized(); });
  }

  void respond() {
    try {
      const auto& request = parser_->get();
      auto reply = route(to_std(request.method_string()), to_std(request.target()), env_->state->snapshot());
      if (!reply.document) return send_reply(reply, {reply.body});
      const bool gzip = accepts_gzip(to_std(request[http::field::accept_encoding]));
      if (gzip && reply.document->gzip_ready()) return send_reply(reply, body_of(*reply.document, gzip));
      if (auto text = gzip ? nullptr : reply.document->text_if_ready()) return send_reply(reply, {std::move(text)});
      // The first request for this document renders and compresses it, and a plain request
      // may inflate it: on a worker.
      auto body = std::make_shared<document_body>();
      off_io_thread(
          [document = reply.document, gzip, body] {
            *body = body_of(*document, gzip);
            return true;
          },
          [this, reply, body](bool) { send_reply(reply, *body); });
    } catch (...) {
      lost(current_exception_text());
    }
  }

  void decorate(response_type& response) const {
    response.set(http::field::server, "kepler");
    for (const auto& [name, value] : security_->headers) response.set(to_beast(name), to_beast(value));
  }

  void send_reply(const route_response& reply, const document_body& body) {
    try {
      const auto& request = parser_->get();
      if (!body.bytes) {
        env_->dropped(http_drop::exception, "rendering the metrics failed; answered 500");
        return send_reply(route_response{500, text_content_type, rendering_failed(), false, nullptr},
                          {rendering_failed()});
      }
      if (body.gzip_failed) env_->dropped(http_drop::exception, "compressing the metrics failed; served uncompressed");
      response_type response{static_cast<http::status>(reply.status), request.version()};
      decorate(response);
      response.set(http::field::content_type, to_beast(reply.content_type));
      if (reply.allow_get_head) response.set(http::field::allow, "GET, HEAD");
      if (reply.document) response.set(http::field::vary, "Accept-Encoding");
      if (body.gzip) response.set(http::field::content_encoding, "gzip");
      response.content_length(body.bytes->size());
      // HEAD: same headers, Content-Length of the GET body, no body.
      if (request.method() != http::verb::head) response.body() = body.bytes;
      response.keep_alive(request.keep_alive());
      write(std::move(response));
    } catch (...) {
      lost(current_exception_text());
    }
  }

  void send_unauthorized() {
    static const auto unauthorized = constant("Unauthorized\n");
    try {
      const auto& request = parser_->get();
      response_type response{http::status::unauthorized, request.version()};
      decorate(response);
      response.set(http::field::www_authenticate, "Basic");
      response.set(http::field::content_type, to_beast(text_content_type));
      response.content_length(unauthorized->size());
      if (request.method() != http::verb::head) response.body() = unauthorized;
      response.keep_alive(request.keep_alive());
      write(std::move(response));
    } catch (...) {
      lost(current_exception_text());
    }
  }

  void send_error(unsigned status) {
    static const auto bad_request = constant("bad request");
    static const auto too_large = constant("request body too large");
    static const auto header_too_large = constant("request header too large");
    const auto& body = status == 413 ? too_large : status == 431 ? header_too_large : bad_request;
    try {
      response_type response{static_cast<http::status>(status), 11};
      decorate(response);
      response.set(http::field::content_type, to_beast(text_content_type));
      response.content_length(body->size());
      response.body() = body;
      response.keep_alive(false);  // what follows a malformed request cannot be trusted
      write(std::move(response));
    } catch (...) {
      lost(current_exception_text());
    }
  }

  void write(response_type response) {
    response_ = std::move(response);
    busy_ = true;
    enter(connection_phase::response);
    lowest().expires_after(env_->limits.write_timeout);
    http::async_write(stream_, *response_,
                      [self = self(), keep_alive = response_->keep_alive()](beast::error_code ec, std::size_t) {
                        self->on_write(keep_alive, ec);
                      });
  }

  void on_write(bool keep_alive, beast::error_code ec) {
    busy_ = false;
    response_.reset();
    if (ec && !closing_) report(ec, http_drop::write_timeout, http_drop::write_error);
    if (ec || closing_) return close();
    if (!keep_alive) return linger();
    wait_for_request();
  }

  void linger() {
    enter(connection_phase::lingering);
    if constexpr (is_tls<Stream>) {
      lowest().expires_after(linger_timeout);
      stream_.async_shutdown([self = self()](beast::error_code) { self->close(); });
    } else {
      linger_plain();
    }
  }

  void linger_plain() {
    enter(connection_phase::lingering);
    beast::error_code ignored;
    lowest().socket().shutdown(tcp::socket::shutdown_send, ignored);
    lowest().expires_after(linger_timeout);  // once: a chatty client cannot extend it
    drain();
  }

  void drain() {
    lowest().async_read_some(net::buffer(drain_), [self = self()](beast::error_code ec, std::size_t) {
      if (ec || self->closing_) return self->close();
      self->drain();
    });
  }

  /// Reports a failed step: as `on_timeout` when its deadline passed, else as `on_error` (a
  /// reset, a TLS failure); a client that simply closed the connection, or one evicted, is not
  /// reported again.
  void report(const beast::error_code& ec, http_drop on_timeout, http_drop on_error) {
    if (evicted_) return;  // counted as evicted already
    if (ec == http::error::end_of_stream || ec == net::error::eof) return;
    env_->dropped(ec == beast::error::timeout ? on_timeout : on_error, ec.message());
  }

  /// Serving threw (out of memory): the request is lost and the connection closed.
  void lost(const std::string& what) {
    env_->dropped(http_drop::exception, what);
    close();
  }

  void close() {
    enter(connection_phase::closed);
    beast::error_code ignored;
    lowest().socket().shutdown(tcp::socket::shutdown_both, ignored);
    lowest().close();
  }

  Stream stream_;
  std::shared_ptr<const session_env> env_;
  std::shared_ptr<const web_security> security_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::optional<response_type> response_;  // alive until its write completes
  std::array<char, 512> drain_{};
  connection_status status_{connection_phase::request, steady::now()};  // from connect: the first request
  bool busy_ = false;  // a write or a worker job is under way: a stop waits for it
  bool closing_ = false;
  std::atomic<bool> evicted_{false};  // closed by evict(): already reported; read by workers
};

}  // namespace

void served_state::publish(published_documents documents) {
  if (!documents.metrics)
    documents.metrics = std::make_shared<const metrics_document>(std::make_shared<const std::string>());
  {
    std::lock_guard guard(mutex_);
    std::swap(documents_, documents);
  }
  ready_.store(true, std::memory_order_release);
}

route_state served_state::snapshot() const {
  route_state state;
  state.metrics_enabled = metrics_enabled_;
  state.ui_enabled = ui_enabled_;
  state.waiting_page = waiting_page_;
  state.ready = ready_.load(std::memory_order_acquire);
  std::lock_guard guard(mutex_);
  state.metrics = documents_.metrics;
  state.page = documents_.page;
  state.summary = documents_.summary;
  return state;
}

std::shared_ptr<connection> make_connection(tcp::socket socket, std::shared_ptr<const session_env> env,
                                            std::shared_ptr<const web_security> security) {
  if (security->tls)
    return std::make_shared<http_session<tls_stream>>(std::move(socket), std::move(env), std::move(security));
  return std::make_shared<http_session<plain_stream>>(std::move(socket), std::move(env), std::move(security));
}

}  // namespace kepler
