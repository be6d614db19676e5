#include "test/support/fake_kube_server.hpp"

#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <stdexcept>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include <poll.h>
#include <sys/socket.h>

namespace kepler::test {

namespace net = boost::asio;
namespace ssl = net::ssl;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using namespace std::chrono_literals;

struct fake_kube_server::state {
  bool tls = false;
  net::io_context ioc;
  tcp::acceptor acceptor{ioc};
  std::optional<ssl::context> tls_context;

  mutable std::mutex mutex;
  std::condition_variable changed;  ///< stop, live watch lines, served connections
  bool stopping = false;
  std::map<std::string, fake_response> routes, watch_routes;
  std::map<std::string, std::deque<fake_response>> queued, queued_watch;
  fake_handler handler;
  std::string required_token;
  std::vector<recorded_request> requests;
  std::deque<std::string> live_lines;
  bool live_end = false;
  std::set<int> open_fds;
  std::size_t body_bytes_sent = 0;
  std::size_t finished = 0;
};

namespace {

using state = fake_kube_server::state;

constexpr std::size_t piece_bytes = 64 * 1024;

/// Keeps a connection's descriptor known to the server while it is served, so that the
/// destructor can interrupt a blocked read or write with shutdown(2).
class fd_registration {
 public:
  fd_registration(state& s, int fd) : s_(s), fd_(fd) {
    std::lock_guard lock(s_.mutex);
    if (s_.stopping) ::shutdown(fd_, SHUT_RDWR);
    s_.open_fds.insert(fd_);
  }
  ~fd_registration() {
    std::lock_guard lock(s_.mutex);
    s_.open_fds.erase(fd_);
    ++s_.finished;
    s_.changed.notify_all();
  }

 private:
  state& s_;
  int fd_;
};

/// Whether the client has closed its side (watch clients send nothing after the request).
bool client_gone(int fd) {
  pollfd p{fd, POLLIN | POLLRDHUP, 0};
  return ::poll(&p, 1, 0) > 0 && (p.revents & (POLLRDHUP | POLLHUP | POLLERR)) != 0;
}

bool has_watch_flag(const std::string& query) {
  std::string padded = "&" + query + "&";
  return padded.find("&watch=1&") != std::string::npos || padded.find("&watch=true&") != std::string::npos;
}

std::string header(unsigned status, const std::string& length_or_chunked) {
  return "HTTP/1.1 " + std::to_string(status) + " " +
         std::string(http::obsolete_reason(static_cast<http::status>(status))) +
         "\r\nContent-Type: application/json\r\nConnection: close\r\n" + length_or_chunked + "\r\n\r\n";
}

std::string length_header(std::size_t bytes) { return "Content-Length: " + std::to_string(bytes); }

std::string chunk(std::string_view data) {
  char size[32];
  std::snprintf(size, sizeof size, "%zx\r\n", data.size());
  return size + std::string(data) + "\r\n";
}

template <class Stream>
bool write_all(Stream& stream, std::string_view data) {
  beast::error_code ec;
  net::write(stream, net::buffer(data.data(), data.size()), ec);
  return !ec;
}

template <class Stream>
bool write_body(state& s, Stream& stream, std::string_view data) {
  if (!write_all(stream, data)) return false;
  std::lock_guard lock(s.mutex);
  s.body_bytes_sent += data.size();
  return true;
}

/// Waits `delay` or until the server stops; false when it stops.
bool stall(state& s, std::chrono::milliseconds delay) {
  std::unique_lock lock(s.mutex);
  return !s.changed.wait_for(lock, delay, [&] { return s.stopping; });
}

std::optional<fake_response> choose(state& s, const recorded_request& request) {
  fake_handler handler;
  {
    std::lock_guard lock(s.mutex);
    handler = s.handler;
  }
  if (handler) {
    if (auto chosen = handler(request)) return chosen;
  }
  std::lock_guard lock(s.mutex);
  bool watch = has_watch_flag(request.query);
  auto& queued = watch ? s.queued_watch : s.queued;
  if (auto it = queued.find(request.path); it != queued.end() && !it->second.empty()) {
    fake_response next = std::move(it->second.front());
    it->second.pop_front();
    return next;
  }
  auto& routes = watch ? s.watch_routes : s.routes;
  if (auto it = routes.find(request.path); it != routes.end()) return it->second;
  return std::nullopt;
}

template <class Stream>
void send_huge(state& s, Stream& stream, const fake_response& reply) {
  const std::string head = R"({"kind":"PodList","apiVersion":"v1","metadata":{"resourceVersion":"1"},"items":[)";
  const std::string tail = "]}";
  std::size_t total = std::max(reply.huge_bytes, head.size() + tail.size());
  if (!write_all(stream, header(200, reply.chunked ? "Transfer-Encoding: chunked" : length_header(total)))) return;
  auto send = [&](std::string_view data) { return write_body(s, stream, reply.chunked ? chunk(data) : data); };
  if (!send(head)) return;
  const std::string spaces(piece_bytes, ' ');
  for (std::size_t left = total - head.size() - tail.size(); left > 0;) {
    std::size_t n = std::min(left, spaces.size());
    if (!send(std::string_view(spaces).substr(0, n))) return;
    left -= n;
  }
  if (send(tail) && reply.chunked) write_all(stream, "0\r\n\r\n");
}

/// Sends lines pushed by the test until `end_watch`, the client leaving, or the server stopping.
template <class Stream>
void hold_watch(state& s, Stream& stream, int fd) {
  for (;;) {
    std::unique_lock lock(s.mutex);
    s.changed.wait_for(lock, 20ms, [&] { return s.stopping || s.live_end || !s.live_lines.empty(); });
    if (s.stopping) return;
    if (!s.live_lines.empty()) {
      if (client_gone(fd)) return;  // leave the line for the next watch
      std::string line = std::move(s.live_lines.front());
      s.live_lines.pop_front();
      lock.unlock();
      if (!write_all(stream, chunk(line + "\n"))) return;
      continue;
    }
    if (s.live_end) {
      s.live_end = false;
      lock.unlock();
      write_all(stream, "0\r\n\r\n");
      return;
    }
    lock.unlock();
    if (client_gone(fd)) return;
  }
}

template <class Stream>
void send_watch(state& s, Stream& stream, int fd, const fake_response& reply) {
  if (!write_all(stream, header(reply.status, "Transfer-Encoding: chunked"))) return;
  for (const auto& line : reply.lines) {
    if (!write_all(stream, chunk(line + "\n"))) return;
  }
  switch (reply.end) {
    case watch_end::finish: write_all(stream, "0\r\n\r\n"); return;
    case watch_end::abort: return;
    case watch_end::hold: hold_watch(s, stream, fd); return;
  }
}

template <class Stream>
void send(state& s, Stream& stream, int fd, const fake_response& reply) {
  if (reply.stall > 0ms && !stall(s, reply.stall)) return;
  switch (reply.how) {
    case fake_response::mode::complete:
      if (write_all(stream, header(reply.status, length_header(reply.body.size())))) write_body(s, stream, reply.body);
      return;
    case fake_response::mode::cut_short:
      if (write_all(stream, header(reply.status, length_header(reply.body.size())))) {
        write_body(s, stream, std::string_view(reply.body).substr(0, reply.body.size() / 2));
      }
      return;
    case fake_response::mode::huge: send_huge(s, stream, reply); return;
    case fake_response::mode::watch: send_watch(s, stream, fd, reply); return;
  }
}

recorded_request record(const http::request<http::empty_body>& request) {
  recorded_request out;
  out.method = std::string(request.method_string());
  std::string target(request.target());
  auto question = target.find('?');
  out.path = target.substr(0, question);
  out.query = question == std::string::npos ? "" : target.substr(question + 1);
  out.authorization = std::string(request[http::field::authorization]);
  return out;
}

template <class Stream>
void serve(state& s, Stream& stream, int fd) {
  beast::flat_buffer buffer;
  http::request<http::empty_body> request;
  beast::error_code ec;
  http::read(stream, buffer, request, ec);
  if (ec) return;
  recorded_request seen = record(request);
  std::string required;
  {
    std::lock_guard lock(s.mutex);
    s.requests.push_back(seen);
    required = s.required_token;
  }
  if (!required.empty() && seen.authorization != "Bearer " + required) {
    send(
        s, stream, fd,
        fake_response::json(
            R"({"kind":"Status","apiVersion":"v1","status":"Failure","message":"Unauthorized","reason":"Unauthorized","code":401})",
            401));
    return;
  }
  auto reply = choose(s, seen);
  if (!reply) {
    send(s, stream, fd,
         fake_response::json(R"({"kind":"Status","status":"Failure","reason":"NotFound","code":404})", 404));
    return;
  }
  send(s, stream, fd, *reply);
}

void handle_connection(state& s, tcp::socket socket) {
  const int fd = socket.native_handle();
  if (s.tls) {
    ssl::stream<tcp::socket> stream(std::move(socket), *s.tls_context);
    fd_registration registered(s, fd);
    beast::error_code ec;
    stream.handshake(ssl::stream_base::server, ec);
    if (!ec) serve(s, stream, fd);
  } else {
    fd_registration registered(s, fd);
    serve(s, socket, fd);
  }
}

}  // namespace

fake_response fake_response::json(std::string body, unsigned status) {
  fake_response out;
  out.status = status;
  out.body = std::move(body);
  return out;
}

fake_response fake_response::stalled(std::chrono::milliseconds delay, std::string body) {
  fake_response out = json(std::move(body));
  out.stall = delay;
  return out;
}

fake_response fake_response::truncated_json(const std::string& body) { return json(body.substr(0, body.size() / 2)); }

fake_response fake_response::cut_short(std::string body) {
  fake_response out = json(std::move(body));
  out.how = mode::cut_short;
  return out;
}

fake_response fake_response::huge(std::size_t bytes, bool chunked) {
  fake_response out;
  out.how = mode::huge;
  out.huge_bytes = bytes;
  out.chunked = chunked;
  return out;
}

fake_response fake_response::watch(std::vector<std::string> lines, watch_end end) {
  fake_response out;
  out.how = mode::watch;
  out.lines = std::move(lines);
  out.end = end;
  return out;
}

fake_kube_server::fake_kube_server(fake_server_options options) : state_(std::make_shared<state>()) {
  state& s = *state_;
  s.tls = options.tls;
  if (options.tls) {
    s.tls_context.emplace(ssl::context::tls_server);
    s.tls_context->use_certificate_chain_file(options.cert_file);
    s.tls_context->use_private_key_file(options.key_file, ssl::context::pem);
    if (!options.client_ca_file.empty()) {
      s.tls_context->load_verify_file(options.client_ca_file);
      s.tls_context->set_verify_mode(ssl::verify_peer | ssl::verify_fail_if_no_peer_cert);
    }
  }
  tcp::endpoint where(net::ip::make_address("127.0.0.1"), options.port);
  s.acceptor.open(where.protocol());
  s.acceptor.set_option(tcp::acceptor::reuse_address(true));
  s.acceptor.bind(where);
  s.acceptor.listen();
  port_ = s.acceptor.local_endpoint().port();
  acceptor_thread_ = std::thread([this] { accept_loop(); });
}

fake_kube_server::~fake_kube_server() {
  state& s = *state_;
  {
    std::lock_guard lock(s.mutex);
    s.stopping = true;
    for (int fd : s.open_fds) ::shutdown(fd, SHUT_RDWR);
  }
  s.changed.notify_all();
  ::shutdown(s.acceptor.native_handle(), SHUT_RDWR);  // wakes the blocked accept()
  acceptor_thread_.join();
  {
    std::lock_guard lock(s.mutex);
    for (int fd : s.open_fds) ::shutdown(fd, SHUT_RDWR);
  }
  for (auto& c : connections_) c.thread.join();
}

void fake_kube_server::accept_loop() {
  state& s = *state_;
  for (;;) {
    tcp::socket socket(s.ioc);
    beast::error_code ec;
    s.acceptor.accept(socket, ec);
    {
      std::lock_guard lock(s.mutex);
      if (s.stopping) return;
    }
    if (ec) {
      std::this_thread::sleep_for(10ms);
      continue;
    }
    reap_finished();
    auto done = std::make_shared<std::atomic<bool>>(false);
    std::shared_ptr<state> shared = state_;
    std::thread worker([shared, done, socket = std::move(socket)]() mutable {
      handle_connection(*shared, std::move(socket));
      *done = true;
    });
    connections_.push_back({std::move(worker), done});
  }
}

void fake_kube_server::reap_finished() {
  for (auto it = connections_.begin(); it != connections_.end();) {
    if (*it->done) {
      it->thread.join();
      it = connections_.erase(it);
    } else {
      ++it;
    }
  }
}

std::string fake_kube_server::url() const {
  return std::string(state_->tls ? "https" : "http") + "://127.0.0.1:" + std::to_string(port_);
}

void fake_kube_server::on(const std::string& path, fake_response response) {
  std::lock_guard lock(state_->mutex);
  state_->routes.insert_or_assign(path, std::move(response));
}

void fake_kube_server::on_watch(const std::string& path, fake_response response) {
  std::lock_guard lock(state_->mutex);
  state_->watch_routes.insert_or_assign(path, std::move(response));
}

void fake_kube_server::queue(const std::string& path, fake_response response) {
  std::lock_guard lock(state_->mutex);
  state_->queued[path].push_back(std::move(response));
}

void fake_kube_server::queue_watch(const std::string& path, fake_response response) {
  std::lock_guard lock(state_->mutex);
  state_->queued_watch[path].push_back(std::move(response));
}

void fake_kube_server::set_handler(fake_handler handler) {
  std::lock_guard lock(state_->mutex);
  state_->handler = std::move(handler);
}

void fake_kube_server::require_token(std::string token) {
  std::lock_guard lock(state_->mutex);
  state_->required_token = std::move(token);
}

void fake_kube_server::push_watch_line(std::string line) {
  {
    std::lock_guard lock(state_->mutex);
    state_->live_lines.push_back(std::move(line));
  }
  state_->changed.notify_all();
}

void fake_kube_server::end_watch() {
  {
    std::lock_guard lock(state_->mutex);
    state_->live_end = true;
  }
  state_->changed.notify_all();
}

std::vector<recorded_request> fake_kube_server::requests() const {
  std::lock_guard lock(state_->mutex);
  return state_->requests;
}

std::size_t fake_kube_server::body_bytes_sent() const {
  std::lock_guard lock(state_->mutex);
  return state_->body_bytes_sent;
}

bool fake_kube_server::wait_finished(std::size_t count, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(state_->mutex);
  return state_->changed.wait_for(lock, timeout, [&] { return state_->finished >= count; });
}

}  // namespace kepler::test
