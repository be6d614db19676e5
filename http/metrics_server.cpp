#include "http/metrics_server.hpp"

#include <algorithm>
#include <array>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <system_error>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ip/v6_only.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>

#include "http/connection_limit.hpp"
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
// While at the connection limit, how often to look whether the flood is over (for the log).
constexpr auto limit_check_interval = std::chrono::seconds(1);

/// A client address, IPv4 as IPv4-mapped IPv6, as a map key (Asio's addresses have no hash
/// in Boost 1.74, and the map stays small: one entry per address with open connections).
using address_key = std::array<unsigned char, 16>;

address_key key_of(const tcp::socket& socket) {
  error_code ec;
  const auto address = socket.remote_endpoint(ec).address();
  if (ec) return {};
  if (address.is_v4()) return net::ip::make_address_v6(net::ip::v4_mapped, address.to_v4()).to_bytes();
  return address.to_v6().to_bytes();
}

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

  /// An open connection and the address it came from.
  struct tracked {
    std::weak_ptr<connection> session;
    address_key address;
  };

  impl(const options& opts, web_config_watcher web)
      : state(std::make_shared<served_state>(opts.metrics_enabled, opts.ui_enabled,
                                             opts.ui_waiting_page.empty()
                                                 ? nullptr
                                                 : std::make_shared<const std::string>(opts.ui_waiting_page))),
        web(std::move(web)),
        on_reload(opts.on_web_config_reload),
        on_limit(opts.on_connection_limit),
        limit_timer(ioc) {
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
  std::size_t forget_closed();
  bool make_room();
  void shed(http_drop reason);
  void watch_limit();
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
  std::function<void(bool, const std::string&)> on_limit;
  std::vector<tracked> sessions;                   // I/O thread only
  std::map<address_key, std::size_t> per_address;  // I/O thread only: connections in `sessions`
  limit_episode episode;                           // I/O thread only
  net::steady_timer limit_timer;
  bool stopping = false;              // I/O thread only
  std::vector<unsigned short> ports;  // fixed once start() returns
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
    if (forget_closed() >= env->limits.max_connections && !make_room()) {
      error_code ignored;
      socket.close(ignored);  // defensive: make_room finds a connection whenever the limit is reached
      env->dropped(http_drop::over_limit, "a new connection refused: " + std::to_string(env->limits.max_connections) +
                                              " connections open, none of them could be closed");
      shed(http_drop::over_limit);
      return;
    }
    error_code ignored;  // a default-sized buffer is no reason to turn the client away
    socket.set_option(net::socket_base::send_buffer_size(env->limits.send_buffer_bytes), ignored);
    // As Go's servers do: a TLS answer goes out as several records, and Nagle would hold the
    // last small one until the client's delayed ACK (40 ms) came.
    socket.set_option(tcp::no_delay(true), ignored);
    const auto address = key_of(socket);
    auto session = make_connection(std::move(socket), env, web.current(on_reload));
    sessions.push_back({session, address});
    ++per_address[address];
    session->start();
  } catch (...) {
    env->dropped(http_drop::exception, current_exception_text());  // out of memory: the next one may fare better
  }
}

/// Drops the connections that have ended from `sessions` and from their address's count, and
/// returns how many hold a descriptor (closed ones may wait for a worker job a little longer).
std::size_t metrics_server::impl::forget_closed() {
  std::size_t open = 0;
  std::erase_if(sessions, [&](const tracked& t) {
    if (auto session = t.session.lock()) {
      if (session->status().phase != connection_phase::closed) ++open;
      return false;
    }
    if (auto found = per_address.find(t.address); found != per_address.end() && --found->second == 0)
      per_address.erase(found);
    return true;
  });
  return open;
}

/// Closes one connection to admit a new one, chosen by evict_before; false if none can be closed.
bool metrics_server::impl::make_room() {
  std::shared_ptr<connection> victim;
  eviction_candidate worst;
  for (const auto& t : sessions) {
    auto session = t.session.lock();
    if (!session) continue;
    const eviction_candidate candidate{session->status(), per_address[t.address]};
    if (!evictable(candidate.status.phase)) continue;
    if (!victim || evict_before(candidate, worst)) {
      victim = std::move(session);
      worst = candidate;
    }
  }
  if (!victim || !victim->evict()) return false;
  switch (worst.status.phase) {
    case connection_phase::idle: shed(http_drop::evicted); break;
    case connection_phase::request:
    case connection_phase::working: shed(http_drop::evicted_request); break;
    case connection_phase::response: shed(http_drop::evicted_response); break;
    default: break;  // lingering: already answered, nothing lost
  }
  return true;
}

/// Counts a connection closed or refused at the limit for the episode's log lines.
void metrics_server::impl::shed(http_drop reason) {
  auto began = episode.shed(reason, env->open->load(), env->limits.max_connections);
  if (!began) return;
  if (on_limit) on_limit(true, *began);
  watch_limit();
}

/// While at the limit, looks every second whether the flood is over, to say so once.
void metrics_server::impl::watch_limit() {
  limit_timer.expires_after(limit_check_interval);
  limit_timer.async_wait([this](error_code ec) {
    if (ec || stopping) return;
    if (auto over = episode.settle(env->open->load(), env->limits.max_connections)) {
      if (on_limit) on_limit(false, *over);
      return;
    }
    watch_limit();
  });
}

void metrics_server::impl::begin_shutdown() {
  stopping = true;
  error_code ignored;
  for (auto& l : listeners) {
    l->acceptor.close(ignored);
    l->retry.cancel();
  }
  limit_timer.cancel();
  for (auto& t : sessions) {
    if (auto session = t.session.lock()) session->shutdown();
  }
  sessions.clear();
  per_address.clear();
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
