#include "sensors/platform/redfish_power.hpp"

#include <algorithm>
#include <cmath>
#include <memory>

#include <simdjson.h>

#include "base/text.hpp"

namespace kepler {
namespace {

using simdjson::dom::element;

/// One parsed body; the parser owns the memory its elements point into.
struct json_doc {
  std::unique_ptr<simdjson::dom::parser> parser = std::make_unique<simdjson::dom::parser>();
  element root;
};

result<json_doc> fetch(const redfish_get& get, std::string_view path) {
  auto body = get(path);
  if (!body) return body.error();
  json_doc doc;
  auto parsed = doc.parser->parse(body.value());
  if (parsed.error())
    return make_error(errc::parse, "GET " + std::string(path) + ": not JSON (" +
                                       std::string(simdjson::error_message(parsed.error())) + ")");
  if (!parsed.value().is_object()) return make_error(errc::parse, "GET " + std::string(path) + ": not a JSON object");
  doc.root = parsed.value();
  return doc;
}

/// An element, or why there is none (absent, not an object): lookups chain through misses.
using json = simdjson::simdjson_result<element>;

json field(json object, std::string_view key) { return object[key]; }
json field(const element& object, std::string_view key) { return field(json(element(object)), key); }

/// A number, or a string holding one (Redfish services send both; so does gofish accept).
std::optional<double> number_of(json value) {
  element e;
  if (value.get(e) != simdjson::SUCCESS) return std::nullopt;
  std::optional<double> number;
  if (e.is_double() || e.is_int64() || e.is_uint64()) number = double(e);
  if (e.is_string()) {
    std::string text(trim_space(std::string_view(e)));
    char* end = nullptr;
    double parsed = std::strtod(text.c_str(), &end);
    if (!text.empty() && end == text.c_str() + text.size()) number = parsed;
  }
  // Power and energy readings: a negative, infinite or NaN one is no reading.
  if (number && (!std::isfinite(*number) || *number < 0)) return std::nullopt;
  return number;
}

/// A string property, or a number's text (MemberId is either); "" when absent.
std::string text_of(json object, std::string_view key) {
  element e;
  if (field(object, key).get(e) != simdjson::SUCCESS) return {};
  if (e.is_string()) return std::string(std::string_view(e));
  if (e.is_int64()) return std::to_string(int64_t(e));
  if (e.is_uint64()) return std::to_string(uint64_t(e));
  if (e.is_double()) return simdjson::to_string(e);
  return {};
}

std::string text_of(const element& object, std::string_view key) { return text_of(json(element(object)), key); }

/// The elements of an array property; none when it is absent or not an array.
std::vector<element> items_of(const element& object, std::string_view key) {
  simdjson::dom::array array;
  if (field(object, key).get_array().get(array) != simdjson::SUCCESS) return {};
  return {array.begin(), array.end()};
}

std::string link_of(json object, std::string_view key) { return text_of(field(object, key), "@odata.id"); }
std::string link_of(const element& object, std::string_view key) { return link_of(json(element(object)), key); }

/// `Excerpt.Reading` of a sensor excerpt (PowerWatts, EnergyJoules, InputPowerWatts, ...).
std::optional<double> reading_of(json object, std::string_view excerpt) {
  return number_of(field(field(object, excerpt), "Reading"));
}
std::optional<double> reading_of(const element& object, std::string_view excerpt) {
  return reading_of(json(element(object)), excerpt);
}

std::string last_segment(std::string path) {
  while (path.size() > 1 && path.back() == '/') path.pop_back();
  return path.substr(path.rfind('/') + 1);
}

/// What a poll reads from one chassis.
struct needs {
  bool environment = false, power = false, supplies = false, supply_metrics = false;
  needs& operator|=(const needs& other) {
    environment |= other.environment;
    power |= other.power;
    supplies |= other.supplies;
    supply_metrics |= other.supply_metrics;
    return *this;
  }
};
constexpr needs everything{true, true, true, true};

/// Every figure one chassis gave in one poll.
struct chassis_figures {
  std::vector<redfish_series> power_control;  ///< PowerControl entries with a non-zero reading
  std::vector<redfish_series> supply_output;  ///< supplies with a non-zero PowerOutputWatts (non-standard)
  std::vector<redfish_series> supply_input;   ///< supplies' Metrics.InputPowerWatts
  std::optional<redfish_series> environment;  ///< EnvironmentMetrics.PowerWatts
  std::optional<double> environment_joules;   ///< EnvironmentMetrics.EnergyJoules
};

double sum_of(const std::vector<redfish_series>& series) {
  double total = 0;
  for (const auto& s : series) total += s.watts;
  return total;
}

}  // namespace

struct redfish_power_reader::chassis {
  std::string id, path, type;
  bool inside_another = false;
  std::string power, power_subsystem, environment;
  needs poll;  ///< what each poll reads here
};

enum class series_source { supply_output, power_control, environment, supply_input };
enum class node_source { energy_counter, environment, power_control, supply_input, supply_output };

struct redfish_power_reader::plan {
  std::vector<chassis> all;
  series_source series_from = series_source::power_control;
  std::size_t node_chassis = 0;
  std::optional<node_source> node_from;
};

namespace {

using chassis = redfish_power_reader::chassis;

result<void> read_power(const redfish_get& get, const chassis& c, chassis_figures& out) {
  auto doc = fetch(get, c.power);
  if (!doc) return doc.error();
  for (element control : items_of(doc.value().root, "PowerControl")) {
    auto watts = number_of(field(control, "PowerConsumedWatts"));
    if (!watts || *watts == 0) continue;
    out.power_control.push_back({c.id, text_of(control, "MemberId"), text_of(control, "Name"), "PowerControl", *watts});
  }
  return {};
}

result<void> read_supply(const redfish_get& get, const chassis& c, element supply, const needs& what,
                         chassis_figures& out) {
  if (text_of(field(supply, "Status"), "State") == "Absent") return {};
  auto path = text_of(supply, "@odata.id");
  if (auto output = number_of(field(supply, "PowerOutputWatts")); output && *output != 0)
    out.supply_output.push_back({c.id, text_of(supply, "Id"), text_of(supply, "Name"), "PowerSupply", *output});
  auto metrics = link_of(supply, "Metrics");
  if (!what.supply_metrics || metrics.empty()) return {};
  auto doc = fetch(get, metrics);
  if (!doc) return doc.error();
  // Keyed by the supply's own path: a body's Id can be wrong (public-tower's Bay2 says Bay1).
  if (auto input = reading_of(doc.value().root, "InputPowerWatts"))
    out.supply_input.push_back({c.id, last_segment(path), text_of(supply, "Name"), "PowerSupply", *input});
  return {};
}

result<void> read_supplies(const redfish_get& get, const chassis& c, const needs& what, chassis_figures& out) {
  auto subsystem = fetch(get, c.power_subsystem);
  if (!subsystem) return subsystem.error();
  auto supplies_path = link_of(subsystem.value().root, "PowerSupplies");
  if (supplies_path.empty()) return {};
  auto collection = fetch(get, supplies_path);
  if (!collection) return collection.error();
  for (element member : items_of(collection.value().root, "Members")) {
    // A member given whole (with its Id) is not fetched again, as gofish does.
    if (!text_of(member, "Id").empty()) {
      if (auto read = read_supply(get, c, member, what, out); !read) return read;
      continue;
    }
    auto doc = fetch(get, text_of(member, "@odata.id"));
    if (!doc) return doc.error();
    if (auto read = read_supply(get, c, doc.value().root, what, out); !read) return read;
  }
  return {};
}

result<void> read_environment(const redfish_get& get, const chassis& c, chassis_figures& out) {
  auto doc = fetch(get, c.environment);
  if (!doc) return doc.error();
  const element& root = doc.value().root;
  if (auto watts = reading_of(root, "PowerWatts"))
    out.environment = redfish_series{c.id, text_of(root, "Id"), text_of(root, "Name"), "EnvironmentMetrics", *watts};
  out.environment_joules = reading_of(root, "EnergyJoules");
  return {};
}

result<chassis_figures> read_chassis(const redfish_get& get, const chassis& c, const needs& what) {
  chassis_figures out;
  if (what.environment && !c.environment.empty())
    if (auto read = read_environment(get, c, out); !read) return read.error();
  if (what.power && !c.power.empty())
    if (auto read = read_power(get, c, out); !read) return read.error();
  if (what.supplies && !c.power_subsystem.empty())
    if (auto read = read_supplies(get, c, what, out); !read) return read.error();
  return out;
}

/// The chassis listed by the service root's Chassis collection, with their links.
result<std::vector<chassis>> discover_chassis(const redfish_get& get) {
  auto root = fetch(get, "/redfish/v1/");
  if (!root) return root.error();
  auto collection_path = link_of(root.value().root, "Chassis");
  if (collection_path.empty()) return make_error(errc::parse, "the service root has no Chassis collection");
  auto collection = fetch(get, collection_path);
  if (!collection) return collection.error();
  std::vector<chassis> found;
  std::vector<std::vector<std::string>> containers;
  for (element member : items_of(collection.value().root, "Members")) {
    auto path = text_of(member, "@odata.id");
    auto doc = fetch(get, path);
    if (!doc) return doc.error();
    auto body = doc.value().root;
    chassis c;
    c.path = path;
    c.id = text_of(body, "Id");
    if (c.id.empty()) c.id = last_segment(path);  // some BMCs leave Id out (HPE iLO 5)
    c.type = text_of(body, "ChassisType");
    c.power = link_of(body, "Power");
    c.power_subsystem = link_of(body, "PowerSubsystem");
    c.environment = link_of(body, "EnvironmentMetrics");
    std::vector<std::string> inside;
    if (auto by = link_of(field(body, "Links"), "ContainedBy"); !by.empty()) inside.push_back(by);
    containers.push_back(std::move(inside));
    found.push_back(std::move(c));
  }
  for (std::size_t i = 0; i < found.size(); ++i)
    for (const auto& container : containers[i])
      found[i].inside_another |= std::any_of(found.begin(), found.end(), [&](const chassis& other) {
        return last_segment(other.path) == last_segment(container);
      });
  // Cards and components hold parts of a server; they are inside it even where not linked so.
  for (auto& c : found) c.inside_another |= c.type == "Card" || c.type == "Component" || c.type == "Module";
  return found;
}

std::optional<node_source> best_node_source(const chassis_figures& f) {
  if (f.environment_joules && f.environment) return node_source::energy_counter;
  if (f.environment) return node_source::environment;
  if (!f.power_control.empty()) return node_source::power_control;
  if (!f.supply_input.empty()) return node_source::supply_input;
  if (!f.supply_output.empty()) return node_source::supply_output;
  return std::nullopt;
}

needs needs_of(node_source source) {
  switch (source) {
    case node_source::energy_counter:
    case node_source::environment: return {true, false, false, false};
    case node_source::power_control: return {false, true, false, false};
    case node_source::supply_input: return {false, false, true, true};
    case node_source::supply_output: return {false, false, true, false};
  }
  return {};
}

needs needs_of(series_source source) {
  switch (source) {
    case series_source::supply_output: return {false, false, true, false};
    case series_source::power_control: return {false, true, false, false};
    case series_source::environment: return {true, false, false, false};
    case series_source::supply_input: return {false, false, true, true};
  }
  return {};
}

/// v0.11's choice (one strategy for every chassis), then ours where it finds nothing.
std::optional<series_source> choose_series(const std::vector<chassis_figures>& figures) {
  auto any = [&](auto has) { return std::any_of(figures.begin(), figures.end(), has); };
  if (any([](const auto& f) { return !f.supply_output.empty(); })) return series_source::supply_output;
  if (any([](const auto& f) { return !f.power_control.empty(); })) return series_source::power_control;
  if (any([](const auto& f) { return f.environment.has_value(); })) return series_source::environment;
  if (any([](const auto& f) { return !f.supply_input.empty(); })) return series_source::supply_input;
  return std::nullopt;
}

std::vector<redfish_series> series_of(const chassis_figures& f, series_source source) {
  switch (source) {
    case series_source::supply_output: return f.supply_output;
    case series_source::power_control: return f.power_control;
    case series_source::environment: return f.environment ? std::vector{*f.environment} : std::vector<redfish_series>{};
    case series_source::supply_input: return f.supply_input;
  }
  return {};
}

std::optional<redfish_node_power> node_power_of(const chassis_figures& f, node_source source, const std::string& id) {
  redfish_node_power node{id, {}, 0, std::nullopt};
  switch (source) {
    case node_source::energy_counter:
      if (!f.environment || !f.environment_joules) return std::nullopt;
      node.resource = "EnvironmentMetrics.EnergyJoules";
      node.watts = f.environment->watts;
      node.energy_joules = f.environment_joules;
      return node;
    case node_source::environment:
      if (!f.environment) return std::nullopt;
      node.resource = "EnvironmentMetrics.PowerWatts";
      node.watts = f.environment->watts;
      return node;
    case node_source::power_control:
      if (f.power_control.empty()) return std::nullopt;
      node.resource = "Power.PowerControl[" + f.power_control.front().source_id + "].PowerConsumedWatts";
      node.watts = f.power_control.front().watts;
      return node;
    case node_source::supply_input:
      if (f.supply_input.empty()) return std::nullopt;
      node.resource = "PowerSupplies[*].Metrics.InputPowerWatts";
      node.watts = sum_of(f.supply_input);
      return node;
    case node_source::supply_output:
      if (f.supply_output.empty()) return std::nullopt;
      node.resource = "PowerSupplies[*].PowerOutputWatts";
      node.watts = sum_of(f.supply_output);
      return node;
  }
  return std::nullopt;
}

/// The node's chassis: the first outside every other that gives a figure, else the first that does.
std::optional<std::size_t> choose_node_chassis(const std::vector<chassis>& all,
                                               const std::vector<chassis_figures>& figures) {
  for (bool outer_only : {true, false})
    for (std::size_t i = 0; i < all.size(); ++i)
      if ((!outer_only || !all[i].inside_another) && best_node_source(figures[i])) return i;
  return std::nullopt;
}

}  // namespace

result<redfish_poll> redfish_power_reader::read() {
  if (plan_) return poll_with(*plan_);
  auto found = discover_chassis(get_);
  if (!found) return found.error();
  auto fresh = std::make_shared<plan>();
  fresh->all = std::move(found).value();
  std::vector<chassis_figures> figures;
  for (const auto& c : fresh->all) {
    auto read = read_chassis(get_, c, everything);
    if (!read) return read.error();
    figures.push_back(std::move(read).value());
  }
  auto series = choose_series(figures);
  if (!series)
    return make_error(errc::unavailable, "no power reading on any chassis (tested " +
                                             std::to_string(fresh->all.size()) +
                                             " chassis: Power, PowerSubsystem and EnvironmentMetrics)");
  fresh->series_from = *series;
  for (auto& c : fresh->all) c.poll = needs_of(*series);
  if (auto node = choose_node_chassis(fresh->all, figures)) {
    fresh->node_chassis = *node;
    fresh->node_from = best_node_source(figures[*node]);
    fresh->all[*node].poll |= needs_of(*fresh->node_from);
  }
  plan_ = std::move(fresh);
  return poll_with(*plan_);
}

result<redfish_poll> redfish_power_reader::poll_with(const plan& p) {
  redfish_poll poll;
  for (std::size_t i = 0; i < p.all.size(); ++i) {
    auto figures = read_chassis(get_, p.all[i], p.all[i].poll);
    if (!figures) return figures.error();
    auto series = series_of(figures.value(), p.series_from);
    poll.series.insert(poll.series.end(), series.begin(), series.end());
    if (p.node_from && i == p.node_chassis) poll.node = node_power_of(figures.value(), *p.node_from, p.all[i].id);
  }
  return poll;
}

std::string redfish_power_reader::describe() const {
  if (!plan_) return {};
  static constexpr const char* series_names[] = {"PowerSubsystem power supplies (PowerOutputWatts)",
                                                 "Power.PowerControl", "EnvironmentMetrics.PowerWatts",
                                                 "power supply Metrics.InputPowerWatts"};
  std::string text = std::to_string(plan_->all.size()) + " chassis; kepler_platform_watts from " +
                     series_names[static_cast<int>(plan_->series_from)];
  if (!plan_->node_from) return text + "; no chassis gives the node's power";
  static constexpr const char* node_names[] = {"EnvironmentMetrics.EnergyJoules (an energy counter)",
                                               "EnvironmentMetrics.PowerWatts", "Power.PowerControl",
                                               "the sum of its power supplies' input",
                                               "the sum of its power supplies' output"};
  return text + "; the node's power from chassis " + plan_->all[plan_->node_chassis].id + ", " +
         node_names[static_cast<int>(*plan_->node_from)];
}

}  // namespace kepler
