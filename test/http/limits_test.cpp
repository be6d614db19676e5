// What a slow, idle or greedy client may cost the server: connections, time, memory.

#include <atomic>
#include <future>
#include <thread>

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>

#include <catch2/catch.hpp>

#include "test/http/test_client.hpp"

using namespace kepler;
using namespace kepler::test;
using namespace std::chrono_literals;

namespace {

server_limits quick_limits() {
  server_limits limits;
  limits.header_timeout = 1s;
  limits.idle_timeout = 1s;
  limits.write_timeout = 1s;
  return limits;
}

/// Whether the server has closed `c` (EOF or reset), waiting at most `wait`; any bytes the
/// server sent before closing go to `received`.
bool closed_by_server(client& c, std::chrono::milliseconds wait, std::string* received = nullptr) {
  pollfd fd{c.socket().native_handle(), POLLIN, 0};
  if (::poll(&fd, 1, static_cast<int>(wait.count())) != 1) return false;
  const auto rest = c.read_to_end();
  if (received) *received = rest;
  return true;
}

/// Opens a connection from `from` that sends part of a request and stalls (slowloris).
std::unique_ptr<client> stalled_request(unsigned short port, std::string_view from = {}) {
  auto c = std::make_unique<client>(port, "127.0.0.1", 10s, from);
  boost::asio::write(c->socket(), boost::asio::buffer(std::string("GET /healthz HTTP/1.1\r\n")));
  return c;
}

/// The server's end of `c`: the descriptor of this process whose peer is `c`'s local end (the
/// server runs in this test process); -1 if there is none.
int server_end_of(client& c) {
  const auto local = c.socket().local_endpoint();
  for (int fd = 0; fd < 4096; ++fd) {
    sockaddr_in peer{};
    socklen_t size = sizeof peer;
    if (::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &size) != 0 || peer.sin_family != AF_INET) continue;
    if (ntohs(peer.sin_port) == local.port() && fd != c.socket().native_handle()) return fd;
  }
  return -1;
}

int socket_option(int fd, int level, int name) {
  int value = -1;
  socklen_t size = sizeof value;
  REQUIRE(::getsockopt(fd, level, name, &value, &size) == 0);
  return value;
}

}  // namespace

TEST_CASE("each connection sends without Nagle's delay, through a fixed send buffer", "[http][limits]") {
  auto [server, port] = serve_local();
  client scraper(port);
  REQUIRE(scraper.get("/healthz").status == 200);  // accepted and set up
  const int fd = server_end_of(scraper);
  REQUIRE(fd >= 0);
  // TLS answers go out as several records: Nagle would hold the last until a delayed ACK.
  CHECK(socket_option(fd, IPPROTO_TCP, TCP_NODELAY) != 0);
  CHECK(socket_option(fd, SOL_SOCKET, SO_SNDBUF) == 2 * server_limits{}.send_buffer_bytes);  // Linux doubles it
}

TEST_CASE("at max_connections the oldest unfinished request makes room for a new client", "[http][limits]") {
  auto limits = quick_limits();
  limits.max_connections = 3;
  limits.header_timeout = 30s;  // the stalled ones would stay for the whole test
  drop_log drops;
  auto [server, port] = serve_local_with(limits, {}, &drops);
  std::vector<std::unique_ptr<client>> stalled;
  for (int i = 0; i < 3; ++i) {
    stalled.push_back(stalled_request(port));
    std::this_thread::sleep_for(20ms);  // accepted in this order
  }
  CHECK(fetch(port, "/healthz").status == 200);  // the newcomer is served at once
  CHECK(closed_by_server(*stalled[0], 5000ms));  // in place of the oldest
  CHECK(drops.count(http_drop::evicted_request) == 1);
  CHECK(drops.count(http_drop::over_limit, 0ms) == 0);
  // The others still get their answer when they finish their request.
  CHECK(stalled[2]->exchange_raw("Connection: close\r\n\r\n").rfind("HTTP/1.1 200 OK", 0) == 0);
}

TEST_CASE("at max_connections a request waiting for a worker makes room too, and its rendering is not lost",
          "[http][limits]") {
  auto limits = quick_limits();
  limits.max_connections = 1;
  drop_log drops;
  auto [server, port] = serve_local_with(limits, {}, &drops);
  std::promise<void> rendering, release;
  auto released = release.get_future().share();
  server->publish(std::make_shared<const metrics_document>([&rendering, released] {
    rendering.set_value();
    released.wait();  // the first rendering holds its connection on a worker
    return std::string("m 1\n");
  }));
  auto waiting = std::async(std::launch::async, [port = port] { return fetch(port, "/metrics"); });
  rendering.get_future().wait();
  auto newcomer = std::async(std::launch::async, [port = port] { return fetch(port, "/metrics"); });
  CHECK(drops.count(http_drop::evicted_request) == 1);  // the one waiting, not the newcomer
  CHECK_THROWS(waiting.get());
  release.set_value();
  CHECK(newcomer.get().body == "m 1\n");  // the rendering it began serves the next one
  CHECK(drops.count(http_drop::over_limit, 0ms) == 0);
}

TEST_CASE("at max_connections a response its client does not read makes room", "[http][limits]") {
  auto limits = quick_limits();
  limits.max_connections = 2;
  limits.write_timeout = 30s;  // only eviction can end the stalled writes during the test
  drop_log drops;
  auto [server, port] = serve_local_with(limits, {}, &drops);
  server->publish(document(std::string(16 * 1024 * 1024, 'x')));  // far more than socket buffers hold
  std::vector<std::unique_ptr<client>> readers;
  for (int i = 0; i < 2; ++i) {
    readers.push_back(std::make_unique<client>(port));
    boost::asio::write(readers.back()->socket(), boost::asio::buffer(std::string("GET /metrics HTTP/1.1\r\n\r\n")));
    std::this_thread::sleep_for(50ms);
  }
  client newcomer(port);
  CHECK(newcomer.get("/metrics").body.size() == 16 * 1024 * 1024);
  CHECK(drops.count(http_drop::evicted_response) == 1);
}

TEST_CASE("at max_connections the address holding the most connections gives one up first", "[http][limits]") {
  auto limits = quick_limits();
  limits.max_connections = 4;
  limits.header_timeout = 30s;
  drop_log drops;
  auto [server, port] = serve_local_with(limits, {}, &drops);
  auto lone = stalled_request(port, "127.0.0.2");  // the oldest, but alone on its address
  std::this_thread::sleep_for(20ms);
  std::vector<std::unique_ptr<client>> crowd;
  for (int i = 0; i < 3; ++i) {
    crowd.push_back(stalled_request(port, "127.0.0.3"));
    std::this_thread::sleep_for(20ms);
  }
  CHECK(fetch(port, "/healthz").status == 200);
  CHECK(closed_by_server(*crowd[0], 5000ms));  // the crowd's oldest goes
  CHECK_FALSE(closed_by_server(*lone, 200ms));
  CHECK(drops.count(http_drop::evicted_request) == 1);
}

TEST_CASE("a scrape gets through a flood of stalled, idle and unread connections past the limit", "[http][limits]") {
  auto limits = quick_limits();
  limits.max_connections = 30;
  limits.header_timeout = 30s;
  limits.idle_timeout = 30s;
  limits.write_timeout = 30s;
  drop_log drops;
  auto [server, port] = serve_local_with(limits, {}, &drops);
  server->publish(large_document('f'));
  std::vector<std::unique_ptr<client>> flood;
  for (int i = 0; i < 60; ++i) {
    const auto from = "127.0.0." + std::to_string(2 + i % 7);
    if (i % 3 == 0) {
      flood.push_back(stalled_request(port, from));
    } else {
      flood.push_back(std::make_unique<client>(port, "127.0.0.1", 10s, from));
      const int small = 4096;
      setsockopt(flood.back()->socket().native_handle(), SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
      if (i % 3 == 1) REQUIRE(flood.back()->get("/healthz").status == 200);  // then idle
      else
        boost::asio::write(flood.back()->socket(), boost::asio::buffer(std::string("GET /metrics HTTP/1.1\r\n\r\n")));
    }
  }
  for (int i = 0; i < 5; ++i) CHECK(fetch(port, "/metrics").body == *large_document('f'));
  CHECK(drops.count(http_drop::over_limit, 0ms) == 0);
}

TEST_CASE("at max_connections the longest idle keep-alive connection makes room", "[http][limits]") {
  auto limits = quick_limits();
  limits.max_connections = 2;
  limits.idle_timeout = 60s;
  drop_log drops;
  auto [server, port] = serve_local_with(limits, {}, &drops);
  client first(port), second(port);
  REQUIRE(first.get("/healthz").status == 200);
  std::this_thread::sleep_for(20ms);
  REQUIRE(second.get("/healthz").status == 200);
  client third(port);
  CHECK(third.get("/healthz").status == 200);
  CHECK(closed_by_server(first, 5000ms));  // idle longest
  CHECK(drops.count(http_drop::evicted) == 1);
  CHECK_FALSE(closed_by_server(second, 200ms));
  CHECK(second.get("/healthz").status == 200);
}

TEST_CASE("a slowloris client is cut off after the header timeout while others are served", "[http][limits]") {
  auto [server, port] = serve_local_with(quick_limits());
  server->publish(large_document('s'));
  const std::string header = "GET /metrics HTTP/1.1\r\nX-Slow: " + std::string(100, 'a') + "\r\n\r\n";
  auto attacker = std::async(std::launch::async, [port = port, &header] {
    client c(port);
    for (std::size_t sent = 0; sent < header.size(); ++sent) {
      boost::system::error_code ec;
      boost::asio::write(c.socket(), boost::asio::buffer(&header[sent], 1), ec);
      std::string received;
      if (ec || closed_by_server(c, 100ms, &received)) return std::pair{sent, received};
    }
    return std::pair{header.size(), std::string("not cut off")};
  });
  int served = 0;
  while (attacker.wait_for(0ms) != std::future_status::ready) {
    REQUIRE(fetch(port, "/metrics").status == 200);
    ++served;
  }
  const auto [sent, received] = attacker.get();
  CHECK(sent < header.size());  // cut off before it could finish: at 10 bytes a second it needs 12 s
  CHECK(received.empty());      // and without an answer
  CHECK(served > 0);
}

TEST_CASE("a connection that never sends a byte is closed after the header timeout", "[http][limits]") {
  drop_log drops;
  auto [server, port] = serve_local_with(quick_limits(), {}, &drops);
  client silent(port);
  CHECK(closed_by_server(silent, 5000ms));
  CHECK(drops.count(http_drop::request_timeout) == 1);
}

TEST_CASE("an idle keep-alive connection is closed after the idle timeout", "[http][limits]") {
  auto limits = quick_limits();
  limits.idle_timeout = 300ms;
  limits.header_timeout = 30s;  // the idle timeout, not the header timeout, closes it
  drop_log drops;
  auto [server, port] = serve_local_with(limits, {}, &drops);
  client c(port);
  REQUIRE(c.get("/healthz").status == 200);
  CHECK(closed_by_server(c, 5000ms));
  CHECK(drops.count(http_drop::idle_timeout) == 1);
  CHECK(drops.count(http_drop::request_timeout, 0ms) == 0);
}

TEST_CASE("a keep-alive connection in use is not closed by the idle timeout", "[http][limits]") {
  auto limits = quick_limits();
  limits.idle_timeout = 500ms;
  auto [server, port] = serve_local_with(limits);
  client c(port);
  for (int i = 0; i < 10; ++i) {
    REQUIRE(c.get("/healthz").status == 200);
    std::this_thread::sleep_for(200ms);  // 2 s in all: four idle timeouts, each gap shorter
  }
}

TEST_CASE("a reader taking one byte at a time holds neither other clients nor old documents", "[http][limits]") {
  auto [server, port] = serve_local_with(quick_limits());
  auto first = document(std::string(16 * 1024 * 1024, 'x'));  // far more than socket buffers hold
  const std::weak_ptr<const std::string> first_alive = first;
  server->publish(std::move(first));

  client slow(port);
  const int small = 4096;
  setsockopt(slow.socket().native_handle(), SOL_SOCKET, SO_RCVBUF, &small, sizeof small);
  boost::asio::write(slow.socket(), boost::asio::buffer(std::string("GET /metrics HTTP/1.1\r\n\r\n")));
  std::size_t got = 0;
  char byte;
  for (int i = 0; i < 20; ++i) {  // 2 s: past the 1 s write timeout
    got += slow.socket().read_some(boost::asio::buffer(&byte, 1));
    std::this_thread::sleep_for(100ms);
    if (i == 5) {
      // Meanwhile: others are served whole documents and a new one can be published.
      CHECK(fetch(port, "/metrics").body.size() == 16 * 1024 * 1024);
      server->publish(document("m 2\n"));
      CHECK(fetch(port, "/metrics").body == "m 2\n");
    }
  }
  // The server lets go of the document when its write times out, although the client has
  // read a few bytes of it: the slow reader was cut off, and the old document is freed.
  // (Reading on to the end would take long: the kernel still sends what it had queued.)
  for (int i = 0; i < 250 && !first_alive.expired(); ++i) std::this_thread::sleep_for(20ms);
  CHECK(first_alive.expired());
  CHECK(got < 100);
}
