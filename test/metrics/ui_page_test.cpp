// The page at `/`: self-contained, within its size budget, readable without JavaScript, and
// safe whatever the machine's names hold.

#include "metrics/ui_page.hpp"

#include <catch2/catch.hpp>

#include "test/support/process_info.hpp"

using namespace kepler;
using Catch::Matchers::Contains;

namespace {

std::size_t count(const std::string& text, std::string_view what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

/// A full summary: every list at its top N with long names, and 15 minutes of history.
summary busy_summary() {
  summary s;
  s.node_name = "worker-node-0001.example.internal";
  s.version = "0.1.0";
  s.sequence = 99;
  s.time = 1'700'000'000;
  s.ranked_zone = "package";
  for (const char* name : {"package", "core", "dram"}) {
    zone_summary zone;
    zone.name = name;
    zone.watts = 40;
    zone.source = "rapl";
    s.zones.push_back(zone);
  }
  for (top_list* list : {&s.processes, &s.containers, &s.pods, &s.vms}) {
    list->count = 10'000;
    list->others_count = 10'000 - summary_top_n;
    list->others_watts = 1;
    list->outside_watts = 2;
    for (std::size_t i = 0; i < summary_top_n; ++i) {
      top_entry e;
      e.id = std::string(64, 'f');
      e.name = std::string(63, 'n');
      e.kind = "containerd";
      e.pod = std::string(63, 'p');
      e.ns = std::string(63, 's');
      e.watts = 12.5;
      e.share = 0.125;
      e.joules = 123456;
      list->top.push_back(e);
    }
  }
  s.pod_source = pod_source_summary{"kubelet", true, 110, 1'700'000'000};
  for (int i = 0; i < 8; ++i) s.exporter.sources.push_back({"rapl", "package-" + std::to_string(i), true, 0, 1.7e9});
  s.history.zones = {"package", "core", "dram"};
  for (int i = 0; i < 900; ++i) {
    s.history.times.push_back(1'700'000'000 + i);
    s.history.watts.insert(s.history.watts.end(), {40, 25, 5});
  }
  return s;
}

}  // namespace

TEST_CASE("the page fits its budget of 100 KB on a busy node", "[metrics][ui]") {
  const auto busy = busy_summary();
  const auto page = ui_page(&busy, {});
  INFO(page.size() << " bytes");
  CHECK(page.size() <= 100 * 1024);
}

TEST_CASE("the page is self-contained: no external resource, one script, links kept", "[metrics][ui]") {
  const auto busy = busy_summary();
  auto page = ui_page(&busy, {});
  const std::string svg_namespace = "\"http://www.w3.org/2000/svg\"";  // a name, never fetched
  CHECK(count(page, svg_namespace) == 1);
  page.erase(page.find(svg_namespace), svg_namespace.size());
  for (const char* external : {"http://", "https://", "src=", "@import", "url(", "<link", "//cdn"}) {
    INFO(external);
    CHECK(page.find(external) == std::string::npos);
  }
  CHECK(count(page, "<script>") == 1);
  CHECK(count(page, "</script>") == 1);  // the embedded script cannot end its element early
  CHECK(count(page, "<style>") == 1);
  for (const char* link : {"href=\"/metrics\"", "href=\"/healthz\"", "href=\"/readyz\"", "href=\"/api/v1/summary\""}) {
    INFO(link);
    CHECK(page.find(link) != std::string::npos);
  }
  CHECK(page.rfind("<!DOCTYPE html>", 0) == 0);
  CHECK_THAT(page, Contains("name=\"viewport\""));  // narrow screens
  CHECK(ui_page(&busy, {false}).find("href=\"/metrics\"") == std::string::npos);
}

TEST_CASE("without JavaScript the page shows the numbers as tables", "[metrics][ui]") {
  summary s;
  s.node_name = "node-1";
  s.interval_seconds = 5;
  s.ranked_zone = "package";
  zone_summary package;
  package.name = "package";
  package.watts = 40.004;
  package.active_watts = 30;
  package.idle_watts = 10.004;
  package.joules = 123'456;
  package.source = "fake-cpu-meter";
  package.method = meter_method::estimate;
  package.model = "1 × (10 W + 50 W × CPU usage)";
  s.zones.push_back(package);
  s.processes.count = 2;
  s.processes.top = {{"4242", "burner", "regular", "", "", 24, 0.8, 1200},
                     {"7", "idle", "regular", "", "", 0.004, 0, 1}};
  s.processes.outside_watts = 6;
  s.processes.outside_share = 0.2;
  s.cpu_time_source = "procfs";
  s.exporter.cpu_ratio = 0.0042;
  s.exporter.sources = {{"fake-cpu-meter", "package", false, 3, 0}};
  const auto page = ui_page(&s, {});
  CHECK_THAT(page, Contains("data-state=\"static\""));
  CHECK_THAT(page, Contains("<tr data-zone=\"package\"><td>package</td><td class=\"num watts big\">40.0 W</td>"));
  CHECK_THAT(page, Contains("123 kJ"));
  CHECK_THAT(page, Contains("fake-cpu-meter: estimate 1 × (10 W + 50 W × CPU usage)"));
  CHECK_THAT(page,
             Contains("<td>4242</td><td class=\"name\">burner</td><td class=\"opt\">regular</td><td class=\"opt\"></td>"
                      "<td class=\"num watts\">24.0 W</td>"));
  CHECK_THAT(page, Contains("80.0 %"));
  CHECK_THAT(page, Contains("0.004 W"));
  // Labelled across PID and Name; Type and Pod, which a narrow screen leaves out, keep their cells.
  CHECK_THAT(page, Contains("<tr class=\"rest\"><td colspan=\"2\">unattributed</td><td class=\"opt\"></td>"
                            "<td class=\"opt\"></td><td class=\"num watts\">6.00 W</td>"));
  CHECK_THAT(page, Contains("/proc scan"));
  CHECK_THAT(page, Contains("Kubernetes off"));
  CHECK_THAT(page, Contains("0.4 % of one CPU"));
  CHECK_THAT(page, Contains("<td class=\"down\">down</td>"));
  CHECK_THAT(page, Contains("none running"));  // containers, pods, VMs
}

TEST_CASE("names from the machine are escaped in the page", "[metrics][ui]") {
  summary s;
  s.node_name = "<b>node</b>";
  s.processes.count = 1;
  s.processes.top = {{"1", "<script>alert(1)</script>", "regular", "", "", 1, 1, 1}};
  const auto page = ui_page(&s, {});
  CHECK(count(page, "<script>") == 1);
  CHECK_THAT(page, Contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
  CHECK_THAT(page, Contains("&lt;b&gt;node&lt;/b&gt;"));
}

TEST_CASE("before the first snapshot the page says it is waiting", "[metrics][ui]") {
  const auto page = ui_page(nullptr, {});
  CHECK_THAT(page, Contains("data-state=\"waiting\""));
  CHECK_THAT(page, Contains("Waiting for the first snapshot."));
  CHECK(count(page, "</script>") == 1);
}
