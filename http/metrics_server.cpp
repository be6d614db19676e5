#include "http/metrics_server.hpp"

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <system_error>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>

#include "http/http_session.hpp"
#include "http/listen_address.hpp"
#include "http/web_config_watcher.hpp"

namespace kepler {
namespace {

namespace net = boost::asio;
using tcp = net::ip::tcp;
using error_code = boost::system::error_code;

// Graceful stop: how long responses already being written may take to finish.
constexpr auto shutdown_grace = std::chrono::seconds(5);
// After an accept error such as EMFILE, wait before retrying instead of spinning.
constexpr auto accept_retry_delay = std::chrono::milliseconds(100);
// How often, at most, to look whether the web config's files changed (on accepting).
constexpr auto web_config_check_interval = std::chrono::seconds(1);
// Threads for bcrypt checks and first gzips: work that must not stall the I/O thread.
constexpr std::size_t worker_threads = 2;

/// Opens, binds and listens; `ec` tells why when it could not.
tcp::acceptor open_acceptor(net::io_context& ioc, const tcp::endpoint& endpoint, bool dual_stack, error_code& ec) {
  tcp::acceptor acceptor(ioc);
  acceptor.open(endpoint.protocol(), ec);
  if (!ec) acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (!ec && dual_stack) acceptor.set_option(net::ip::v6_only(false), ec);
  if (!ec) acceptor.bind(endpoint, ec);
  if (!ec) acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) acceptor.close();
  return acceptor;
}

/// Whether a failure to use IPv6 means "this host has no IPv6" rather than a real problem.
bool ipv6_missing(const error_code& ec) {
  namespace errc = boost::system::errc;
  return ec == errc::address_family_not_supported || ec == errc::protocol_not_supported ||
         ec == errc::address_not_available;
}

}  // namespace

struct metrics_server::impl {
  /// One bound address; the timer paces retries after accept errors.
  struct listener {
    explicit listener(tcp::acceptor a) : acceptor(std::move(a)), retry(acceptor.get_executor()) {}
    tcp::acceptor acceptor;
    net::steady_timer retry;
  };

  impl(const options& opts, web_config_watcher web)
      : state(std::make_shared<served_state>(opts.metrics_enabled, opts.ui_enabled,
                                             opts.ui_waiting_page.empty()
                                                 ? nullptr
                                                 : std::make_shared<const std::string>(opts.ui_waiting_page))),
        web(std::move(web)),
        on_reload(opts.on_web_config_reload) {
    auto shared = std::make_shared<session_env>();
    shared->state = state;
    shared->limits = opts.limits;
    shared->workers = &workers;
    shared->on_drop = opts.on_drop;
    env = std::move(shared);
  }

  result<unsigned short> bind(const std::string& text);
  void accept(listener& l);
  void serve(tcp::socket socket);
  bool make_room();
  void begin_shutdown();
  void run_io();

  // Declared first so it is destroyed last: everything below holds objects bound to it.
  net::io_context ioc{1};
  // Before the sessions' handlers die with ioc, and after them in stop(): jobs hold sessions.
  net::thread_pool workers{worker_threads};
  std::shared_ptr<served_state> state;
  web_config_watcher web;  // I/O thread only, once started
  std::function<void(bool, const std::string&)> on_reload;
  std::shared_ptr<const session_env> env;
  std::vector<std::unique_ptr<listener>> listeners;
  std::vector<std::weak_ptr<connection>> sessions;  // I/O thread only
  bool stopping = false;                            // I/O thread only
  std::vector<unsigned short> ports;                // fixed once start() returns
  bool tls_at_start = web.config().tls.has_value();
  bool auth_at_start = !web.config().users.empty();
  std::thread io_thread;
  std::mutex stop_mutex;  // serialises stop() calls
  std::mutex io_mutex;    // guards io_finished
  std::condition_variable io_done;
  bool io_finished = false;
};

result<unsigned short> metrics_server::impl::bind(const std::string& text) {
  auto parsed = parse_listen_address(text);
  if (!parsed) return make_error(parsed.error_message());
  const auto& address = parsed.value();
  error_code ec;
  tcp::acceptor acceptor(ioc);
  if (address.host.empty()) {
    // Every interface: one dual-stack socket, or plain IPv4 where the host has no IPv6.
    acceptor = open_acceptor(ioc, {net::ip::address_v6::any(), address.port}, true, ec);
    if (ec && ipv6_missing(ec)) acceptor = open_acceptor(ioc, {net::ip::address_v4::any(), address.port}, false, ec);
  } else if (auto ip = net::ip::make_address(address.host, ec); !ec) {
    acceptor = open_acceptor(ioc, {ip, address.port}, false, ec);
  } else {
    tcp::resolver resolver(ioc);
    auto found = resolver.resolve(address.host, std::to_string(address.port), tcp::resolver::numeric_service, ec);
    if (ec) return make_error("cannot resolve \"" + address.host + "\": " + ec.message());
    std::vector<tcp::endpoint> endpoints;
    for (const auto& entry : found) endpoints.push_back(entry.endpoint());
    // Like Go's net.Listen: a name binds one address, IPv4 preferred.
    std::stable_partition(endpoints.begin(), endpoints.end(), [](const auto& e) { return e.address().is_v4(); });
    ec = net::error::host_not_found;
    for (const auto& endpoint : endpoints) {
      acceptor = open_acceptor(ioc, endpoint, false, ec);
      if (!ec) break;
    }
  }
  if (ec) return make_error(ec.message());
  const auto port = acceptor.local_endpoint(ec).port();
  if (ec) return make_error(ec.message());
  listeners.push_back(std::make_unique<listener>(std::move(acceptor)));
  ports.push_back(port);
  return port;
}

void metrics_server::impl::accept(listener& l) {
  l.acceptor.async_accept([this, &l](error_code ec, tcp::socket socket) {
    if (stopping || ec == net::error::operation_aborted) return;
    if (ec) {
      env->dropped(http_drop::accept_error, ec.message());
      l.retry.expires_after(accept_retry_delay);
      l.retry.async_wait([this, &l](error_code wait_ec) {
        if (!wait_ec && !stopping) accept(l);
      });
      return;
    }
    serve(std::move(socket));
    accept(l);
  });
}

void metrics_server::impl::serve(tcp::socket socket) {
  try {
    std::erase_if(sessions, [](const auto& weak) { return weak.expired(); });
    if (env->open->load() >= env->limits.max_connections && !make_room()) {
      error_code ignored;
      socket.close(ignored);  // at the limit and nobody idle: refused at once
      env->dropped(http_drop::over_limit, "a new connection refused: " + std::to_string(env->limits.max_connections) +
                                              " connections open, none of them idle");
      return;
    }
    auto session = make_connection(std::move(socket), env, web.current(on_reload));
    sessions.push_back(session);
    session->start();
  } catch (...) {
    env->dropped(http_drop::exception, current_exception_text());  // out of memory: the next one may fare better
  }
}

/// Closes the keep-alive connection that has waited longest for its next request.
bool metrics_server::impl::make_room() {
  std::shared_ptr<connection> oldest;
  std::chrono::steady_clock::time_point oldest_since;
  for (const auto& weak : sessions) {
    auto session = weak.lock();
    const auto since = session ? session->idle_since() : std::nullopt;
    if (since && (!oldest || *since < oldest_since)) {
      oldest = session;
      oldest_since = *since;
    }
  }
  if (oldest) oldest->evict();
  return oldest != nullptr;
}

void metrics_server::impl::begin_shutdown() {
  stopping = true;
  error_code ignored;
  for (auto& l : listeners) {
    l->acceptor.close(ignored);
    l->retry.cancel();
  }
  for (auto& weak : sessions) {
    if (auto session = weak.lock()) session->shutdown();
  }
  sessions.clear();
}

void metrics_server::impl::run_io() {
  for (;;) {
    try {
      ioc.run();  // returns once shutdown has let every connection end
      break;
    } catch (...) {
      env->dropped(http_drop::exception, current_exception_text());  // its connection died; the others go on
    }
  }
  std::lock_guard guard(io_mutex);
  io_finished = true;
  io_done.notify_all();
}

result<std::unique_ptr<metrics_server>> metrics_server::start(const options& opts) {
  if (opts.listen_addresses.empty()) return make_error("no listen address given");
  auto web = web_config_watcher::load(opts.web_config_file, web_config_check_interval);
  if (!web) return make_error(web.error_message());
  auto state = std::make_unique<impl>(opts, std::move(web).value());
  for (const auto& address : opts.listen_addresses) {
    auto bound = state->bind(address);
    if (!bound) return make_error("cannot listen on " + address + ": " + bound.error_message());
  }
  for (auto& l : state->listeners) state->accept(*l);
  try {
    state->io_thread = std::thread([s = state.get()] { s->run_io(); });
  } catch (const std::system_error& e) {
    return make_error(std::string("cannot start the HTTP server thread: ") + e.what());
  }
  return std::unique_ptr<metrics_server>(new metrics_server(std::move(state)));
}

metrics_server::metrics_server(std::unique_ptr<impl> state) : impl_(std::move(state)) {}

metrics_server::~metrics_server() { stop(); }

void metrics_server::publish(published_documents documents) { impl_->state->publish(std::move(documents)); }

void metrics_server::publish(std::shared_ptr<const metrics_document> document) {
  publish(published_documents{std::move(document), nullptr, nullptr});
}

void metrics_server::publish(std::shared_ptr<const std::string> metrics_text) {
  publish(std::make_shared<const metrics_document>(std::move(metrics_text)));
}

void metrics_server::stop() {
  std::lock_guard serialise(impl_->stop_mutex);
  if (!impl_->io_thread.joinable()) return;
  net::post(impl_->ioc, [s = impl_.get()] { s->begin_shutdown(); });
  {
    std::unique_lock lock(impl_->io_mutex);
    if (!impl_->io_done.wait_for(lock, shutdown_grace, [&] { return impl_->io_finished; })) {
      impl_->ioc.stop();  // a response is still being written after the grace period
    }
  }
  impl_->io_thread.join();
  impl_->workers.join();  // a job under way ends within one bcrypt or gzip
}

std::vector<unsigned short> metrics_server::bound_ports() const { return impl_->ports; }

bool metrics_server::tls_enabled() const { return impl_->tls_at_start; }

bool metrics_server::auth_enabled() const { return impl_->auth_at_start; }

}  // namespace kepler
