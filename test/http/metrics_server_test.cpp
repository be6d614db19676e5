#include "http/metrics_server.hpp"

#include <atomic>
#include <chrono>
#include <future>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "test/http/test_client.hpp"

using namespace kepler;
using namespace kepler::test;

TEST_CASE("metrics answer 503 before the first publish and the document after", "[http][server]") {
  auto [server, port] = serve_local();
  CHECK(port != 0);

  const auto before = fetch(port, "/metrics");
  CHECK(before.status == 503);
  CHECK(before.body == "no snapshot yet");

  server->publish(document("m 1\n"));
  const auto after = fetch(port, "/metrics");
  CHECK(after.status == 200);
  CHECK(after.content_type == "text/plain; version=0.0.4; charset=utf-8");
  CHECK(after.body == "m 1\n");

  server->publish(document("m 2\n"));
  CHECK(fetch(port, "/metrics").body == "m 2\n");
}

TEST_CASE("a published document is rendered by the first scrape, once for every scraper", "[http][server]") {
  auto [server, port] = serve_local();
  auto renders = std::make_shared<std::atomic<int>>(0);
  server->publish(std::make_shared<const metrics_document>([renders] {
    ++*renders;
    return std::string("m 1\n");
  }));
  CHECK(fetch(port, "/readyz").status == 200);
  CHECK(*renders == 0);  // nobody scraped yet
  CHECK(fetch(port, "/metrics").body == "m 1\n");
  CHECK(fetch(port, "/metrics", http::verb::head).headers.at("content-length") == "4");
  client gzip_client(port);
  const auto gzipped = gzip_client.request(http::verb::get, "/metrics", false, {{"Accept-Encoding", "gzip"}});
  CHECK(gzipped.header("content-encoding") == "gzip");
  CHECK(*renders == 1);
}

TEST_CASE("a document that cannot be rendered answers 500 and says why", "[http][server]") {
  auto [server, port] = serve_local();
  server->publish(std::make_shared<const metrics_document>([]() -> std::string { throw std::bad_alloc(); }));
  const auto reply = fetch(port, "/metrics");
  CHECK(reply.status == 500);
  CHECK(reply.body == "rendering the metrics failed (out of memory?)");
  server->publish(document("m 2\n"));  // the next snapshot is served again
  CHECK(fetch(port, "/metrics").body == "m 2\n");
}

TEST_CASE("readyz turns ready on the first publish; healthz is always ok", "[http][server]") {
  auto [server, port] = serve_local();
  const auto before = fetch(port, "/readyz");
  CHECK(before.status == 503);
  CHECK(before.body == "not ready");
  CHECK(fetch(port, "/healthz").body == "ok");

  server->publish(document(""));
  const auto after = fetch(port, "/readyz");
  CHECK(after.status == 200);
  CHECK(after.body == "ready");
}

TEST_CASE("the landing page is served at / only", "[http][server]") {
  auto [server, port] = serve_local();
  const auto page = fetch(port, "/");
  CHECK(page.status == 200);
  CHECK(page.content_type == "text/html; charset=utf-8");
  CHECK(page.body.find("<title>Kepler</title>") != std::string::npos);
  CHECK(page.body.find("<h1>Kepler Service</h1>") != std::string::npos);
  CHECK(page.body.find("Available endpoints:") != std::string::npos);
  CHECK(page.body.find("<li> <a href=\"/metrics\"> Metrics </a> Prometheus metrics </li>") != std::string::npos);
  CHECK(fetch(port, "/index.html").status == 404);
  CHECK(fetch(port, "/nope").status == 404);
}

TEST_CASE("with the exporter disabled /metrics is not found and not listed", "[http][server]") {
  auto [server, port] = serve_local(false);
  server->publish(document("m 1\n"));
  CHECK(fetch(port, "/metrics").status == 404);
  CHECK(fetch(port, "/").body.find("/metrics") == std::string::npos);
  CHECK(fetch(port, "/readyz").status == 200);
}

TEST_CASE("POST is refused with 405 and an Allow header", "[http][server]") {
  auto server = start_local();
  const auto reply = fetch(server->bound_ports().at(0), "/metrics", http::verb::post);
  CHECK(reply.status == 405);
  CHECK(reply.allow == "GET, HEAD");
}

TEST_CASE("HEAD has the headers of GET and no body", "[http][server]") {
  auto [server, port] = serve_local();
  server->publish(document("m 1\nn 2\n"));
  const auto raw = client(port).exchange_raw("HEAD /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  INFO(raw);
  CHECK(raw.rfind("HTTP/1.1 200 OK\r\n", 0) == 0);
  CHECK(raw.find("Content-Length: 8\r\n") != std::string::npos);
  CHECK(raw.size() == raw.find("\r\n\r\n") + 4);  // nothing after the header block
}

TEST_CASE("one keep-alive connection serves many scrapes", "[http][server]") {
  auto [server, port] = serve_local();
  server->publish(document("m 1\n"));
  client c(port);
  for (int i = 0; i < 200; ++i) {
    const auto reply = c.get(i % 2 ? "/metrics" : "/healthz");
    REQUIRE(reply.status == 200);
    REQUIRE(reply.keep_alive);
  }
  for (int i = 0; i < 100; ++i) REQUIRE(fetch(port, "/metrics").body == "m 1\n");
}

TEST_CASE("fifty concurrent scrapes all get a whole document", "[http][server]") {
  auto [server, port] = serve_local();
  const auto first = large_document('1');
  const auto second = large_document('2');
  server->publish(first);
  std::vector<std::future<std::string>> scrapes;
  for (int i = 0; i < 50; ++i) {
    scrapes.push_back(std::async(std::launch::async, [port = port] {  // clang < 16 cannot capture a binding
      client c(port);
      std::string last;
      for (int j = 0; j < 3; ++j) last = c.get("/metrics").body;
      return last;
    }));
  }
  server->publish(second);  // replacing the document mid-scrape never tears a response
  for (auto& scrape : scrapes) {
    const auto body = scrape.get();
    REQUIRE((body == *first || body == *second));
  }
}

TEST_CASE("a second listener on a bound port fails and names the address", "[http][server]") {
  auto server = start_local();
  const auto address = "127.0.0.1:" + std::to_string(server->bound_ports().at(0));
  auto second = metrics_server::start({{"127.0.0.1:0", address}, true});
  REQUIRE_FALSE(second);
  CHECK(second.error_message() == "cannot listen on " + address + ": Address already in use");
}

TEST_CASE("invalid listen addresses are refused by name", "[http][server]") {
  for (const char* bad : {"nohost", ":99999", "[::1:80", "no.such.host.invalid:80"}) {
    INFO(bad);
    auto started = metrics_server::start({{bad}, true});
    REQUIRE_FALSE(started);
    CHECK(started.error_message().rfind(std::string("cannot listen on ") + bad + ": ", 0) == 0);
  }
  CHECK_FALSE(metrics_server::start({{}, true}));
}

TEST_CASE("every listen address gets its own port", "[http][server]") {
  auto server = start_on({"127.0.0.1:0", ":0", "localhost:0"});
  const auto ports = server->bound_ports();
  REQUIRE(ports.size() == 3);
  for (auto port : ports) CHECK(fetch(port, "/healthz").status == 200);
}

TEST_CASE("an IPv6 loopback address is served where the host has IPv6", "[http][server]") {
  auto started = metrics_server::start({{"[::1]:0"}, true});
  if (!started) {
    WARN("no IPv6 loopback here: " << started.error_message());
    return;
  }
  const auto port = started.value()->bound_ports().at(0);
  CHECK(client(port, "::1").get("/healthz").status == 200);
}

TEST_CASE("stop returns promptly while a client holds an idle connection", "[http][server]") {
  auto [server, port] = serve_local();
  client idle(port);
  REQUIRE(idle.get("/healthz").status == 200);  // keep-alive: the connection stays open
  client silent(port);                          // connected, never sends a byte

  const auto begin = steady_clock::now();
  server->stop();
  CHECK(steady_clock::now() - begin < std::chrono::seconds(5));
  CHECK(idle.read_to_end().empty());  // the server closed it
  CHECK(silent.read_to_end().empty());

  server->stop();              // idempotent
  CHECK_THROWS(client(port));  // nobody listens any more
}

TEST_CASE("the destructor stops a running server", "[http][server]") {
  unsigned short port = 0;
  {
    auto server = start_local();
    port = server->bound_ports().at(0);
    server->publish(document("m 1\n"));
  }
  CHECK_THROWS(client(port));
}
