// The page at `/`, rendered on the server as plain tables (so it reads without JavaScript);
// ui/page.js renders the same markup from /api/v1/summary and keeps it live. Keep the two in step.

#include "metrics/ui_page.hpp"

#include <ctime>
#include <string_view>

#include <fmt/format.h>

#include "metrics/json_writer.hpp"

namespace kepler {

namespace embedded {  // ui/page.css and ui/page.js, compiled in by kepler_embed_text (metrics/CMakeLists.txt)
extern const std::string_view ui_stylesheet;
extern const std::string_view ui_script;
}  // namespace embedded
namespace {

/// About three significant digits: 0.123, 1.23, 12.3, 123, 1234.
std::string three_digits(double value) {
  const double magnitude = value < 0 ? -value : value;
  const int decimals = magnitude < 1 ? 3 : magnitude < 10 ? 2 : magnitude < 100 ? 1 : 0;
  return fmt::format("{:.{}f}", value, decimals);
}

std::string watts_text(double watts) { return three_digits(watts) + " W"; }

std::string joules_text(double joules) {
  static constexpr std::string_view units[] = {"J", "kJ", "MJ", "GJ", "TJ"};
  std::size_t unit = 0;
  while (joules >= 1000 && unit + 1 < std::size(units)) {
    joules /= 1000;
    ++unit;
  }
  return three_digits(joules) + " " + std::string(units[unit]);
}

std::string percent_text(double ratio) { return fmt::format("{:.1f} %", ratio * 100); }

/// A wall-clock time in UTC, ISO 8601 ("2024-05-01T12:00:00Z"); "never" for 0.
std::string time_text(double seconds) {
  if (seconds <= 0) return "never";
  std::time_t t = static_cast<std::time_t>(seconds);
  std::tm utc{};
  if (!gmtime_r(&t, &utc)) return "?";
  char text[32];
  std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &utc);
  return text;
}

std::string_view method_text(meter_method method) {
  switch (method) {
    case meter_method::counter: return "measured energy counter";
    case meter_method::integrated_power: return "measured power, integrated";
    case meter_method::estimate: return "estimate";
  }
  return "";
}

/// Writes markup; `text` escapes what comes from the machine.
struct html {
  std::string out;

  html& raw(std::string_view markup) {
    out += markup;
    return *this;
  }
  html& text(std::string_view value) {
    append_html(out, value);
    return *this;
  }
  /// `<tag class="cls">text</tag>`
  html& cell(std::string_view tag, std::string_view cls, std::string_view value) {
    out += '<';
    out += tag;
    if (!cls.empty()) raw(" class=\"").raw(cls).raw("\"");
    out += '>';
    text(value);
    return raw("</").raw(tag).raw(">");
  }
};

void zones_section(html& page, const summary& s) {
  page.raw("<section class=\"wide\" id=\"power\"><h2>Node power now</h2><div class=\"scroll\"><table id=\"zones\">")
      .raw("<thead><tr><th>Zone</th><th class=\"num\">Power</th><th class=\"num opt\">Active</th>")
      .raw("<th class=\"num opt\">Idle</th><th class=\"num\">Energy since start</th><th class=\"opt\">Meter</th>")
      .raw("</tr></thead><tbody>");
  for (const auto& zone : s.zones) {
    page.raw("<tr data-zone=\"").text(zone.name).raw("\">").cell("td", "", zone.name);
    page.cell("td", "num watts big", watts_text(zone.watts))
        .cell("td", "num opt", watts_text(zone.active_watts))
        .cell("td", "num opt", watts_text(zone.idle_watts))
        .cell("td", "num", joules_text(zone.joules));
    std::string meter = zone.source.empty() ? "unknown" : zone.source + ": " + std::string(method_text(zone.method));
    if (!zone.model.empty()) meter += " " + zone.model;
    page.cell("td", "meter opt", meter).raw("</tr>");
  }
  if (s.zones.empty())
    page.raw("<tr><td colspan=\"6\" class=\"muted\">No power meter: CPU time and health only.</td></tr>");
  page.raw("</tbody></table></div><p class=\"note\">");
  page.text(fmt::format("CPU usage {}.", percent_text(s.usage_ratio)));
  if (!s.ranked_zone.empty())
    page.text(" Workloads are ranked by their power in the " + s.ranked_zone +
              " zone; shares are of its active power.");
  page.raw("</p></section>");
  page.raw("<section class=\"wide\" id=\"history\"><h2>Last 15 minutes</h2><div id=\"chart\">")
      .raw("<p class=\"muted\">The chart needs JavaScript.</p></div></section>");
}

/// One level's columns besides the numbers: a heading, the entry's text, and whether a narrow
/// screen leaves it out.
struct column {
  std::string_view heading;
  std::string (*value)(const top_entry&);
  bool optional = false;
};

std::string entry_id(const top_entry& e) { return e.id; }
std::string entry_name(const top_entry& e) { return e.name.empty() ? e.id.substr(0, 12) : e.name; }
std::string entry_kind(const top_entry& e) { return e.kind; }
std::string entry_ns(const top_entry& e) { return e.ns; }
std::string entry_pod(const top_entry& e) {
  return e.pod.empty() ? std::string() : e.ns.empty() ? e.pod : e.ns + "/" + e.pod;
}

void list_section(html& page, std::string_view id, std::string_view title, const top_list& list,
                  std::initializer_list<column> columns, std::string_view outside) {
  page.raw("<section id=\"").raw(id).raw("\"><h2>").text(title);
  page.raw(" <small class=\"muted\">").text(fmt::format("{} running", list.count)).raw("</small></h2>");
  page.raw("<div class=\"scroll\"><table><thead><tr>");
  for (const auto& c : columns) page.cell("th", c.optional ? "opt" : "", c.heading);
  page.raw("<th class=\"num\">Power</th><th class=\"num\">Share</th><th class=\"num\">Energy</th></tr></thead><tbody>");
  const auto numbers = [&](double watts, double share, std::string energy) {
    page.cell("td", "num watts", watts_text(watts));
    page.raw("<td class=\"num share\" style=\"--share:").raw(fmt::format("{:.1f}", share * 100)).raw("%\">");
    page.text(percent_text(share)).raw("</td>").cell("td", "num", energy);
  };
  for (const auto& entry : list.top) {
    page.raw("<tr>");
    for (const auto& c : columns)
      page.cell("td", c.heading == "Name" ? "name" : c.optional ? "opt" : "", c.value(entry));
    numbers(entry.watts, entry.share, joules_text(entry.joules));
    page.raw("</tr>");
  }
  // A row labelled across the columns a narrow screen keeps; the optional ones (last) stay apart.
  const auto label_row = [&](std::string_view cls, std::string_view label) {
    std::size_t optional = 0;
    for (const auto& c : columns) optional += c.optional ? 1 : 0;
    page.raw("<tr class=\"").raw(cls).raw("\"><td colspan=\"").raw(fmt::format("{}", columns.size() - optional));
    page.raw("\">").text(label).raw("</td>");
    for (std::size_t i = 0; i < optional; ++i) page.raw("<td class=\"opt\"></td>");
  };
  if (list.count == 0) {
    label_row("muted", "none running");
    page.raw("</tr>");
  }
  if (list.others_count > 0) {
    label_row("rest", fmt::format("{} more", list.others_count));
    numbers(list.others_watts, list.others_share, "");
    page.raw("</tr>");
  }
  if (list.outside_watts > 0) {
    label_row("rest", outside);
    numbers(list.outside_watts, list.outside_share, "");
    page.raw("</tr>");
  }
  page.raw("</tbody></table></div></section>");
}

void provenance_section(html& page, const summary& s) {
  page.raw("<section id=\"provenance\"><h2>How the numbers are obtained</h2><dl>");
  for (const auto& zone : s.zones) {
    page.cell("dt", "", "Power, " + zone.name);
    std::string how =
        zone.source.empty() ? "unknown meter" : zone.source + ": " + std::string(method_text(zone.method));
    if (!zone.model.empty()) how += " " + zone.model;
    page.cell("dd", "", how);
  }
  std::string cpu = s.cpu_time_source == "ebpf" ? "eBPF on sched_switch" : "/proc scan";
  if (!s.bpf_attach_mode.empty()) cpu += " (" + s.bpf_attach_mode + ")";
  page.cell("dt", "", "CPU time").cell("dd", "", cpu);
  page.cell("dt", "", "Pods");
  if (!s.pod_source) {
    page.cell("dd", "", "Kubernetes off (kube.enabled: false)");
  } else {
    const auto& pods = *s.pod_source;
    page.raw("<dd><span class=\"")
        .raw(pods.up ? "up" : "down")
        .raw("\">")
        .text(pods.up ? "up" : "down")
        .raw("</span> ");
    page.text(fmt::format("{}, {} pods, last sync {}", pods.mode, pods.pods, time_text(pods.last_sync))).raw("</dd>");
  }
  page.raw("</dl></section>");
}

void exporter_section(html& page, const summary& s) {
  const auto& e = s.exporter;
  page.raw("<section id=\"exporter\"><h2>Exporter health and cost</h2><dl>");
  page.cell("dt", "", "CPU").cell("dd", "", e.cpu_ratio ? percent_text(*e.cpu_ratio) + " of one CPU" : "—");
  page.cell("dt", "", "Memory").cell("dd", "", fmt::format("{:.1f} MiB resident", e.resident_bytes / 1048576.0));
  page.cell("dt", "", "Collection").cell("dd", "", fmt::format("{:.1f} ms per interval", e.collection_seconds * 1e3));
  page.cell("dt", "", "Restarts").cell("dd", "", fmt::format("{}", e.restarts));
  page.cell("dt", "", "Dropped connections").cell("dd", "", fmt::format("{}", e.http_drops));
  page.cell("dt", "", "Started").cell("dd", "", time_text(e.start_time));
  page.raw("</dl><div class=\"scroll\"><table id=\"sources\"><thead><tr><th>Source</th><th>Zone</th><th>State</th>")
      .raw("<th class=\"num\">Errors</th><th>Last success</th></tr></thead><tbody>");
  for (const auto& source : e.sources) {
    page.raw("<tr>").cell("td", "", source.source).cell("td", "", source.zone);
    page.cell("td", source.up ? "up" : "down", source.up ? "up" : "down");
    page.cell("td", "num", fmt::format("{}", source.errors)).cell("td", "", time_text(source.last_success));
    page.raw("</tr>");
  }
  page.raw("</tbody></table></div></section>");
}

void header(html& page, const summary* s, const ui_page_options& options) {
  page.raw("<header><h1>Kepler <small id=\"node\">").text(s ? s->node_name : "").raw("</small></h1><nav>");
  if (options.metrics_link) page.raw("<a href=\"/metrics\">Metrics</a>");
  page.raw("<a href=\"/api/v1/summary\">Summary (JSON)</a><a href=\"/healthz\">Health</a>")
      .raw("<a href=\"/readyz\">Ready</a></nav><p id=\"status\">");
  if (s) {
    page.text(fmt::format("Snapshot {} at {}, every {} s.", s->sequence, time_text(s->time), s->interval_seconds));
    page.raw("<noscript> Reload to refresh: JavaScript is off.</noscript>");
  } else {
    page.text("Waiting for the first snapshot.");
  }
  page.raw("</p></header>");
}

}  // namespace

std::string ui_page(const summary* s, const ui_page_options& options) {
  html page;
  page.out.reserve(embedded::ui_stylesheet.size() + embedded::ui_script.size() + 24 * 1024);
  page.raw("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">")
      .raw("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">")
      .raw("<meta name=\"color-scheme\" content=\"light dark\"><title>Kepler ")
      .text(s ? s->node_name : "")
      .raw("</title><style>")
      .raw(embedded::ui_stylesheet)
      .raw("</style></head>\n");
  page.raw("<body data-state=\"").raw(s ? "static" : "waiting").raw("\" data-interval=\"");
  page.raw(fmt::format("{}", s ? s->interval_seconds : 5.0)).raw("\">");
  header(page, s, options);
  page.raw("<main id=\"main\">");
  if (s) {
    zones_section(page, *s);
    list_section(page, "processes", "Top processes", s->processes,
                 {{"PID", entry_id}, {"Name", entry_name}, {"Type", entry_kind, true}, {"Pod", entry_pod, true}},
                 "unattributed");
    list_section(page, "containers", "Top containers", s->containers,
                 {{"Name", entry_name}, {"Pod", entry_pod}, {"Runtime", entry_kind, true}}, "outside containers");
    list_section(page, "pods", "Top pods", s->pods, {{"Name", entry_name}, {"Namespace", entry_ns}}, "outside pods");
    list_section(page, "vms", "Top VMs", s->vms, {{"Name", entry_name}, {"Hypervisor", entry_kind, true}},
                 "outside VMs");
    provenance_section(page, *s);
    exporter_section(page, *s);
  }
  page.raw("</main><footer>Kepler ").text(s ? s->version : "");
  page.raw(" · this page reads <a href=\"/api/v1/summary\">/api/v1/summary</a>, made from the same snapshot as ")
      .raw("/metrics.</footer>\n<script>")
      .raw(embedded::ui_script)
      .raw("</script></body></html>\n");
  return std::move(page.out);
}

}  // namespace kepler
