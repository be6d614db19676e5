// The HTTP server actor: each snapshot becomes /metrics and, with the page on, the page at `/`
// and /api/v1/summary, served by a real server on a loopback port.

#include "actors/http_server_actor.hpp"

#include <catch2/catch.hpp>

#include "test/http/test_client.hpp"
#include "test/support/caf_fixture.hpp"
#include "test/support/process_info.hpp"

using namespace kepler;
using namespace kepler::test;

namespace {

/// Snapshot `sequence`: package at `watts` with one process, `burner`, using all its active power.
snapshot_ptr snapshot_at(uint64_t sequence, double watts) {
  auto snap = std::make_shared<snapshot>();
  snap->sequence = sequence;
  snap->wall_ns = static_cast<int64_t>(1'700'000'000 + sequence) * 1'000'000'000;
  snap->mono_ns = static_cast<int64_t>(sequence) * 1'000'000'000;
  snap->zones.resize(1);
  snap->zones[0].name = "package";
  snap->zones[0].watts = watts;
  snap->zones[0].active_watts = watts;
  snap->zones[0].total_uj = sequence * 1'000'000;
  auto info = std::make_shared<process_info>(kepler::testing::regular_process("burner", "/bin/burner"));
  snap->running.push_back(process_row{{77, 1}, info, 0, 0, 0});
  snap->running_watts = {watts};
  snap->running_energy_uj = {sequence * 1'000'000};
  return snap;
}

ui_settings page_on() {
  ui_settings ui;
  ui.enabled = true;
  ui.summary.node_name = "node-1";
  ui.summary.interval_seconds = 5;
  ui.summary.meters = {{"package", "rapl", meter_method::counter, ""}};
  return ui;
}

std::shared_ptr<metrics_server> server_with_page(bool page) {
  metrics_server::options opts{{"127.0.0.1:0"}, true};
  opts.ui_enabled = page;
  opts.ui_waiting_page = page ? "<p>waiting</p>" : "";
  return start_with(opts);
}

}  // namespace

TEST_CASE("each snapshot is served as the page and the summary, with the history so far", "[actors][http]") {
  kepler::testing::caf_fixture fx;
  auto server = server_with_page(true);
  const auto port = server->bound_ports().at(0);
  CHECK(fetch(port, "/").body == "<p>waiting</p>");
  CHECK(fetch(port, "/api/v1/summary").status == 503);

  auto actor = fx.system().spawn(http_server, server, render_context{}, nullptr, page_on());
  fx.self()->send(actor, snapshot_at(1, 40));
  fx.run();
  auto first = fetch(port, "/api/v1/summary");
  CHECK(first.status == 200);
  CHECK(first.content_type == "application/json");
  CHECK_THAT(first.body, Catch::Contains("\"sequence\":1,"));
  CHECK_THAT(first.body, Catch::Contains("\"name\":\"burner\""));
  CHECK_THAT(first.body, Catch::Contains("\"points\":[[1700000001,40]]"));

  fx.self()->send(actor, snapshot_at(2, 42.5));
  fx.run();
  auto second = fetch(port, "/api/v1/summary");
  CHECK_THAT(second.body, Catch::Contains("\"sequence\":2,"));
  CHECK_THAT(second.body, Catch::Contains("\"points\":[[1700000001,40],[1700000002,42.5]]"));
  const auto page = fetch(port, "/");
  CHECK(page.content_type == "text/html; charset=utf-8");
  CHECK_THAT(page.body, Catch::Contains("<td class=\"num watts big\">42.5 W</td>"));
  CHECK_THAT(page.body, Catch::Contains("<td class=\"name\">burner</td>"));
  CHECK_THAT(fetch(port, "/metrics").body, Catch::Contains("kepler_node_cpu_watts{"));
  fx.shutdown(actor);
  server->stop();
}

TEST_CASE("with the page off, / lists the endpoints and there is no summary", "[actors][http]") {
  kepler::testing::caf_fixture fx;
  auto server = server_with_page(false);
  const auto port = server->bound_ports().at(0);
  auto actor = fx.system().spawn(http_server, server, render_context{}, nullptr, ui_settings{});
  fx.self()->send(actor, snapshot_at(1, 40));
  fx.run();
  CHECK_THAT(fetch(port, "/").body, Catch::Contains("Kepler Service"));
  CHECK(fetch(port, "/api/v1/summary").status == 404);
  CHECK(fetch(port, "/metrics").status == 200);
  fx.shutdown(actor);
  server->stop();
}
