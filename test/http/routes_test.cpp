#include "http/routes.hpp"

#include <catch2/catch.hpp>

using namespace kepler;

namespace {

route_state published(std::string document) {
  return route_state{true, true,
                     std::make_shared<const metrics_document>(
                         std::make_shared<const std::string>(std::move(document)))};
}

}  // namespace

TEST_CASE("metrics answer 503 until the first document is published", "[http][routes]") {
  const auto reply = route("GET", "/metrics", route_state{});
  CHECK(reply.status == 503);
  CHECK(*reply.body == "no snapshot yet");
}

TEST_CASE("metrics serve the published document itself, not a copy", "[http][routes]") {
  const auto state = published("m 1\n");
  const auto reply = route("GET", "/metrics", state);
  CHECK(reply.status == 200);
  CHECK(reply.content_type == "text/plain; version=0.0.4; charset=utf-8");
  CHECK(reply.body == nullptr);
  CHECK(reply.document == state.metrics);  // its text, made on demand, may be served gzipped
}

TEST_CASE("a query string does not change the route", "[http][routes]") {
  CHECK(route("GET", "/metrics?name[]=x", published("m 1\n")).status == 200);
  CHECK(route("GET", "/healthz?probe=1", route_state{}).status == 200);
  CHECK(route("GET", "/?", route_state{}).status == 200);
}

TEST_CASE("metrics are not found when the exporter is disabled", "[http][routes]") {
  auto state = published("m 1\n");
  state.metrics_enabled = false;
  CHECK(route("GET", "/metrics", state).status == 404);
}

TEST_CASE("readyz follows the first publish and healthz is always ok", "[http][routes]") {
  const auto before = route("GET", "/readyz", route_state{});
  CHECK(before.status == 503);
  CHECK(*before.body == "not ready");
  const auto after = route("GET", "/readyz", published(""));
  CHECK(after.status == 200);
  CHECK(*after.body == "ready");
  const auto health = route("GET", "/healthz", route_state{});
  CHECK(health.status == 200);
  CHECK(*health.body == "ok");
}

TEST_CASE("the landing page lists the served endpoints", "[http][routes]") {
  const auto reply = route("GET", "/", route_state{});
  CHECK(reply.status == 200);
  CHECK(reply.content_type == "text/html; charset=utf-8");
  const auto& page = *reply.body;
  CHECK(page.find("<title>Kepler</title>") != std::string::npos);
  CHECK(page.find("Kepler Service") != std::string::npos);
  CHECK(page.find("Available endpoints:") != std::string::npos);
  CHECK(page.find("<li> <a href=\"/metrics\"> Metrics </a> Prometheus metrics </li>") != std::string::npos);
  CHECK(page.find("href=\"/healthz\"") != std::string::npos);
  CHECK(page.find("href=\"/readyz\"") != std::string::npos);

  route_state disabled;
  disabled.metrics_enabled = false;
  CHECK(route("GET", "/", disabled).body->find("/metrics") == std::string::npos);
}

TEST_CASE("only the exact paths are served", "[http][routes]") {
  const auto state = published("m 1\n");
  for (const char* target :
       {"/index.html", "/metrics/", "/metricsx", "//", "/healthz/x", "", "*", "http://host/metrics", "/debug/pprof/"}) {
    INFO(target);
    const auto reply = route("GET", target, state);
    CHECK(reply.status == 404);
    CHECK(*reply.body == "404 page not found");
  }
}

TEST_CASE("methods other than GET and HEAD are refused with Allow", "[http][routes]") {
  for (const char* method : {"POST", "PUT", "DELETE", "OPTIONS", "PATCH", "BREW"}) {
    INFO(method);
    const auto reply = route(method, "/metrics", published("m 1\n"));
    CHECK(reply.status == 405);
    CHECK(reply.allow_get_head);
  }
  CHECK(route("HEAD", "/metrics", published("m 1\n")).status == 200);
  CHECK(route("POST", "/nowhere", route_state{}).status == 404);
}

TEST_CASE("only the metrics document is offered for gzip", "[http][routes]") {
  const auto state = published("m 1\n");
  for (const char* target : {"/", "/healthz", "/readyz", "/nope"}) {
    INFO(target);
    CHECK_FALSE(route("GET", target, state).document);
  }
  CHECK_FALSE(route("POST", "/metrics", state).document);
  CHECK_FALSE(route("GET", "/metrics", route_state{}).document);
}
