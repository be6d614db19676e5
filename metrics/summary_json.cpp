// /api/v1/summary: the summary as JSON (docs/summary-api.md is its schema; keep them together).

#include "metrics/json_writer.hpp"
#include "metrics/summary.hpp"

namespace kepler {
namespace {

/// The version of the document's shape: bumped (with the path) only for a change that breaks
/// readers; fields may be added within a version.
constexpr uint64_t summary_version = 1;

/// A wall-clock time, or null for 0 (never).
std::optional<double> time_or_null(double seconds) {
  return seconds > 0 ? std::optional<double>(seconds) : std::nullopt;
}

void write_zone(json_writer& json, const zone_summary& zone) {
  json.begin_object();
  json.key("name").value(zone.name);
  json.key("watts").value(zone.watts);
  json.key("active_watts").value(zone.active_watts);
  json.key("idle_watts").value(zone.idle_watts);
  json.key("joules").value(zone.joules);
  json.key("active_joules").value(zone.active_joules);
  json.key("meter").begin_object();
  json.key("source").value(zone.source);
  json.key("method").value(zone.source.empty() ? std::string_view() : to_string(zone.method));
  json.key("model").value(zone.model);
  json.end_object();
  json.end_object();
}

void write_list(json_writer& json, std::string_view name, const top_list& list) {
  json.key(name).begin_object();
  json.key("count").value(uint64_t{list.count});
  json.key("top").begin_array();
  for (const auto& entry : list.top) {
    json.begin_object();
    json.key("id").value(entry.id);
    json.key("name").value(entry.name);
    json.key("kind").value(entry.kind);
    json.key("pod").value(entry.pod);
    json.key("namespace").value(entry.ns);
    json.key("watts").value(entry.watts);
    json.key("share").value(entry.share);
    json.key("joules").value(entry.joules);
    json.end_object();
  }
  json.end_array();
  json.key("others").begin_object();
  json.key("count").value(uint64_t{list.others_count});
  json.key("watts").value(list.others_watts);
  json.key("share").value(list.others_share);
  json.end_object();
  json.key("outside").begin_object();
  json.key("watts").value(list.outside_watts);
  json.key("share").value(list.outside_share);
  json.end_object();
  json.end_object();
}

void write_exporter(json_writer& json, const exporter_summary& exporter) {
  json.key("exporter").begin_object();
  json.key("sources").begin_array();
  for (const auto& source : exporter.sources) {
    json.begin_object();
    json.key("source").value(source.source);
    json.key("zone").value(source.zone);
    json.key("up").value(source.up);
    json.key("errors").value(source.errors);
    json.key("last_success").value(time_or_null(source.last_success));
    json.end_object();
  }
  json.end_array();
  json.key("restarts").value(exporter.restarts);
  json.key("restarted").begin_array();
  for (const auto& actor : exporter.restarted) {
    json.begin_object();
    json.key("actor").value(actor.actor);
    json.key("restarts").value(actor.restarts);
    json.end_object();
  }
  json.end_array();
  json.key("collection_seconds").value(exporter.collection_seconds);
  json.key("cpu_ratio").value(exporter.cpu_ratio);
  json.key("cpu_seconds").value(exporter.cpu_seconds);
  json.key("resident_bytes").value(exporter.resident_bytes);
  json.key("open_fds").value(exporter.open_fds);
  json.key("start_time").value(time_or_null(exporter.start_time));
  json.key("http_drops").value(exporter.http_drops);
  json.end_object();
}

void write_provenance(json_writer& json, const summary& s) {
  json.key("cpu_time").begin_object();
  json.key("source").value(s.cpu_time_source);
  json.key("bpf_attach_mode").value(s.bpf_attach_mode);
  json.end_object();
  json.key("pod_source");
  if (!s.pod_source) {
    json.null();
    return;
  }
  json.begin_object();
  json.key("mode").value(s.pod_source->mode);
  json.key("up").value(s.pod_source->up);
  json.key("pods").value(s.pod_source->pods);
  json.key("last_sync").value(time_or_null(s.pod_source->last_sync));
  json.end_object();
}

void write_history(json_writer& json, const history_points& history) {
  json.key("history").begin_object();
  json.key("zones").begin_array();
  for (const auto& zone : history.zones) json.value(zone);
  json.end_array();
  json.key("points").begin_array();
  const std::size_t zones = history.zones.size();
  for (std::size_t i = 0; i < history.times.size(); ++i) {
    json.begin_array().value(history.times[i]);
    for (std::size_t z = 0; z < zones; ++z) json.value(history.watts[i * zones + z]);
    json.end_array();
  }
  json.end_array();
  json.end_object();
}

}  // namespace

std::string summary_json(const summary& s) {
  json_writer json;
  json.reserve(4096 + s.history.times.size() * (24 + 20 * s.history.zones.size()));
  json.begin_object();
  json.key("version").value(summary_version);
  json.key("node").value(s.node_name);
  json.key("kepler_version").value(s.version);
  json.key("sequence").value(s.sequence);
  json.key("time").value(s.time);
  json.key("interval_seconds").value(s.interval_seconds);
  json.key("usage_ratio").value(s.usage_ratio);
  json.key("ranked_zone").value(s.ranked_zone);
  json.key("zones").begin_array();
  for (const auto& zone : s.zones) write_zone(json, zone);
  json.end_array();
  write_list(json, "processes", s.processes);
  write_list(json, "containers", s.containers);
  write_list(json, "pods", s.pods);
  write_list(json, "vms", s.vms);
  write_provenance(json, s);
  write_exporter(json, s.exporter);
  write_history(json, s.history);
  json.end_object();
  return json.take();
}

}  // namespace kepler
