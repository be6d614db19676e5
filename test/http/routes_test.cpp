#include "http/routes.hpp"

#include <catch2/catch.hpp>

using namespace kepler;

namespace {

std::shared_ptr<const metrics_document> document_of(std::string text) {
  return std::make_shared<const metrics_document>(std::make_shared<const std::string>(std::move(text)));
}

route_state published(std::string document) {
  route_state state;
  state.ready = true;
  state.metrics = document_of(std::move(document));
  return state;
}

/// With the page on: before the first snapshot (`waiting` page only), or with its documents.
route_state with_ui(bool snapshot) {
  route_state state = snapshot ? published("m 1\n") : route_state{};
  state.ui_enabled = true;
  state.waiting_page = std::make_shared<const std::string>("<html>waiting</html>");
  if (snapshot) {
    state.page = document_of("<html>page</html>");
    state.summary = document_of("{\"version\":1}");
  }
  return state;
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

TEST_CASE("with the page on, / serves the published page, the waiting page before it", "[http][routes]") {
  const auto before = route("GET", "/", with_ui(false));
  CHECK(before.status == 200);
  CHECK(before.content_type == "text/html; charset=utf-8");
  CHECK(*before.body == "<html>waiting</html>");
  const auto state = with_ui(true);
  const auto after = route("GET", "/", state);
  CHECK(after.status == 200);
  CHECK(after.content_type == "text/html; charset=utf-8");
  CHECK(after.document == state.page);  // made on demand, may go out gzipped
  CHECK(route("HEAD", "/?refresh=1", state).document == state.page);
  CHECK(route("POST", "/", state).status == 405);
}

TEST_CASE("the summary is served as JSON with the page on, 503 before a snapshot, 404 with it off", "[http][routes]") {
  const auto state = with_ui(true);
  const auto reply = route("GET", "/api/v1/summary", state);
  CHECK(reply.status == 200);
  CHECK(reply.content_type == "application/json");
  CHECK(reply.document == state.summary);
  CHECK(route("GET", "/api/v1/summary?x=1", state).document == state.summary);
  const auto before = route("GET", "/api/v1/summary", with_ui(false));
  CHECK(before.status == 503);
  CHECK(*before.body == "no snapshot yet");
  CHECK(route("PUT", "/api/v1/summary", state).status == 405);
  for (const char* target : {"/api/v1/summary/", "/api/v1", "/api/v2/summary", "/api/v1/summaryx"}) {
    INFO(target);
    CHECK(route("GET", target, state).status == 404);
  }

  auto off = with_ui(true);
  off.ui_enabled = false;
  CHECK(route("GET", "/api/v1/summary", off).status == 404);
  const auto links = route("GET", "/", off);
  CHECK_FALSE(links.document);
  CHECK(links.body->find("Kepler Service") != std::string::npos);
}

TEST_CASE("the page and the summary stay with /metrics turned off", "[http][routes]") {
  auto state = with_ui(true);
  state.metrics_enabled = false;
  CHECK(route("GET", "/metrics", state).status == 404);
  CHECK(route("GET", "/", state).document == state.page);
  CHECK(route("GET", "/api/v1/summary", state).document == state.summary);
}

TEST_CASE("only the published documents are offered for gzip", "[http][routes]") {
  const auto state = published("m 1\n");
  for (const char* target : {"/", "/healthz", "/readyz", "/nope"}) {
    INFO(target);
    CHECK_FALSE(route("GET", target, state).document);
  }
  CHECK_FALSE(route("POST", "/metrics", state).document);
  CHECK_FALSE(route("GET", "/metrics", route_state{}).document);
}
