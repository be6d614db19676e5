// The YAML side of the configuration: decoding a file on top of defaults, and printing.

#include "config/detail.hpp"
#include "config/keys.hpp"

#include <yaml-cpp/yaml.h>

#include <array>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <set>

namespace kepler::detail {

namespace {

template <class... Fs>
struct overloaded : Fs... {
  using Fs::operator()...;
};
template <class... Fs>
overloaded(Fs...) -> overloaded<Fs...>;

std::string in_quotes(const std::string& text) { return "\"" + text + "\""; }

std::string line_of(const YAML::Node& node) { return "(line " + std::to_string(node.Mark().line + 1) + ")"; }

/// Walks one document, applying known keys to the config and collecting problems.
class yaml_decoder {
 public:
  yaml_decoder(kepler_config& config, std::vector<std::string>& warnings)
      : config_(config), keys_(known_keys(config)), warnings_(warnings) {}

  /// Decodes the document root; returns the errors found.
  std::vector<std::string> decode(const YAML::Node& root) {
    if (root.IsNull()) return {};
    if (!root.IsMap()) return {"config file: expected a mapping at the top " + line_of(root)};
    walk(root, "");
    // Kepler HEAD: the old switch is a deprecated alias of preferredMeters = [fake].
    if (config_.fake_cpu_meter.enabled) config_.cpu.preferred_meters = {meter_kind::fake};
    // Kepler HEAD's forceEnabled, which its experimental.hwmon.enabled became, is [hwmon].
    if (config_.hwmon.enabled) config_.cpu.preferred_meters = {meter_kind::hwmon};
    return std::move(errors_);
  }

 private:
  void walk(const YAML::Node& map, const std::string& prefix) {
    for (const auto& entry : map) {
      auto key = entry.first.IsScalar() ? entry.first.Scalar() : std::string{"?"};
      auto path = prefix.empty() ? key : prefix + "." + key;
      if (key.find('.') != std::string::npos) {
        warn_unknown(path);
      } else if (auto* binding = find_key(path)) {
        if (!entry.second.IsNull()) decode_value(binding->target, entry.second, path);
      } else if (is_section(path)) {
        if (entry.second.IsMap()) walk(entry.second, path);
        else if (!entry.second.IsNull()) errors_.push_back(path + ": expected a mapping " + line_of(entry.second));
      } else {
        warn_unknown(path);
      }
    }
  }

  const key_binding* find_key(const std::string& path) const {
    for (const auto& key : keys_)
      if (key.path == path) return &key;
    return nullptr;
  }

  bool is_section(const std::string& path) const {
    auto prefix = path + ".";
    for (const auto& key : keys_)
      if (key.path.starts_with(prefix)) return true;
    return false;
  }

  void warn_unknown(const std::string& path) {
    if (seen_.insert(path).second) warnings_.push_back("unknown configuration key " + in_quotes(path));
  }

  void decode_value(const key_target& target, const YAML::Node& node, const std::string& path) {
    std::visit(overloaded{
                   [&](std::string* out) { scalar(node, path, *out); },
                   [&](bool* out) { typed(node, path, "a boolean", *out); },
                   [&](int64_t* out) { typed(node, path, "an integer", *out); },
                   [&](double* out) { typed(node, path, "a number", *out); },
                   [&](std::chrono::nanoseconds* out) { duration(node, path, *out); },
                   [&](std::vector<std::string>* out) { list(node, path, *out); },
                   [&](std::vector<load_watts>* out) { curve(node, path, *out); },
                   [&](level_set out) { levels(node, path, *out.bits); },
                   [&](const choice_key& key) { choice(node, path, key); },
                   [&](const choice_list_key& key) { choices(node, path, key); },
                   [&](hwmon_rules_key key) { chip_rules(node, path, *key.rules); },
               },
               target);
  }

  void chip_rules(const YAML::Node& node, const std::string& path, std::vector<hwmon_chip_rule>& out) {
    if (!node.IsSequence()) {
      errors_.push_back(path + ": expected a list of chip rules " + line_of(node));
      return;
    }
    std::vector<hwmon_chip_rule> rules;
    for (std::size_t i = 0; i < node.size(); ++i) {
      auto rule = chip_rule(node[i], path + "[" + std::to_string(i) + "]");
      if (!rule) return;
      rules.push_back(std::move(*rule));
    }
    out = std::move(rules);
  }

  std::optional<hwmon_chip_rule> chip_rule(const YAML::Node& node, const std::string& path) {
    if (!node.IsMap()) {
      errors_.push_back(path + ": expected a mapping " + line_of(node));
      return std::nullopt;
    }
    hwmon_chip_rule rule;
    std::size_t errors_before = errors_.size();
    for (const auto& entry : node) {
      auto key = entry.first.IsScalar() ? entry.first.Scalar() : std::string{"?"};
      auto at = path + "." + key;
      if (key == "name") scalar(entry.second, at, rule.chip);
      else if (key == "useSameIndex") typed(entry.second, at, "a boolean", rule.same_index);
      else if (key == "skipVoltages") integers(entry.second, at, rule.skip_voltages);
      else if (key == "skipCurrents") integers(entry.second, at, rule.skip_currents);
      else if (key == "pairings") integer_map(entry.second, at, rule.pairings);
      else if (key == "zones") text_map(entry.second, at, rule.zones);
      else if (key == "energyRangeMicrojoules") typed(entry.second, at, "an integer", rule.energy_range_uj);
      else warn_unknown(at);
    }
    if (trim(rule.chip).empty()) errors_.push_back(path + ": a chip rule needs a name " + line_of(node));
    if (errors_.size() != errors_before) return std::nullopt;
    return rule;
  }

  void integers(const YAML::Node& node, const std::string& path, std::vector<int>& out) {
    if (!node.IsSequence()) {
      errors_.push_back(path + ": expected a list of integers " + line_of(node));
      return;
    }
    for (const auto& item : node) {
      int value = -1;
      typed(item, path, "an integer", value);
      if (value < 0) return;
      out.push_back(value);
    }
  }

  void integer_map(const YAML::Node& node, const std::string& path, std::map<int, int>& out) {
    if (!node.IsMap()) {
      errors_.push_back(path + ": expected a mapping of voltage to current numbers " + line_of(node));
      return;
    }
    for (const auto& entry : node) {
      int from = -1, to = -1;
      typed(entry.first, path, "an integer", from);
      typed(entry.second, path, "an integer", to);
      if (from < 0 || to < 0) return;
      out[from] = to;
    }
  }

  void text_map(const YAML::Node& node, const std::string& path, std::map<std::string, std::string>& out) {
    if (!node.IsMap()) {
      errors_.push_back(path + ": expected a mapping of channels to zone names " + line_of(node));
      return;
    }
    for (const auto& entry : node) {
      std::string from, to;
      if (!scalar(entry.first, path, from) || !scalar(entry.second, path, to)) return;
      out[trim(from)] = trim(to);
    }
  }

  void choice(const YAML::Node& node, const std::string& path, const choice_key& key) {
    std::string text;
    if (scalar(node, path, text) && !key.set(text))
      errors_.push_back(path + " " + in_quotes(text) + " is not one of " + key.choices + " " + line_of(node));
  }

  void choices(const YAML::Node& node, const std::string& path, const choice_list_key& key) {
    std::vector<std::string> texts;
    if (!list(node, path, texts)) return;
    if (auto bad = key.set(texts))
      errors_.push_back(path + " " + in_quotes(*bad) + " is not one of " + key.choices + " " + line_of(node));
  }

  bool scalar(const YAML::Node& node, const std::string& path, std::string& out) {
    if (!node.IsScalar()) {
      errors_.push_back(path + ": expected a single value " + line_of(node));
      return false;
    }
    out = node.Scalar();
    return true;
  }

  template <class T>
  void typed(const YAML::Node& node, const std::string& path, const char* what, T& out) {
    std::string text;
    if (!scalar(node, path, text)) return;
    T value{};
    if (YAML::convert<T>::decode(node, value)) out = value;
    else errors_.push_back(path + " " + in_quotes(text) + " is not " + what + " " + line_of(node));
  }

  void duration(const YAML::Node& node, const std::string& path, std::chrono::nanoseconds& out) {
    std::string text;
    if (!scalar(node, path, text)) return;
    // Like Go's yaml.v3, a bare integer is a count of nanoseconds.
    int64_t ns = 0;
    if (YAML::convert<int64_t>::decode(node, ns)) out = std::chrono::nanoseconds{ns};
    else if (auto parsed = parse_duration(text)) out = parsed.value();
    else errors_.push_back(path + " " + in_quotes(text) + " is not a duration " + line_of(node));
  }

  bool list(const YAML::Node& node, const std::string& path, std::vector<std::string>& out) {
    if (!node.IsSequence()) {
      errors_.push_back(path + ": expected a list " + line_of(node));
      return false;
    }
    std::vector<std::string> items;
    for (const auto& item : node) {
      std::string text;
      if (!scalar(item, path, text)) return false;
      items.push_back(text);
    }
    out = std::move(items);  // a list in the file replaces the default entirely
    return true;
  }

  /// A list of [load %, watts] pairs; their ranges and order are validate()'s to check.
  void curve(const YAML::Node& node, const std::string& path, std::vector<load_watts>& out) {
    if (!node.IsSequence()) {
      errors_.push_back(path + ": expected a list of [load %, watts] pairs, e.g. [[0, 15], [100, 128]] " +
                        line_of(node));
      return;
    }
    std::vector<load_watts> points;
    for (std::size_t i = 0; i < node.size(); ++i) {
      const auto item = node[i];
      auto where = path + " entry " + std::to_string(i + 1);
      if (!item.IsSequence() || item.size() != 2) {
        errors_.push_back(where + ": expected a pair [load %, watts] " + line_of(item));
        return;
      }
      load_watts point;
      if (!number(item[0], where, point.load_percent) || !number(item[1], where, point.watts)) return;
      points.push_back(point);
    }
    out = std::move(points);
  }

  bool number(const YAML::Node& node, const std::string& where, double& out) {
    if (node.IsScalar() && YAML::convert<double>::decode(node, out)) return true;
    auto text = node.IsScalar() ? in_quotes(node.Scalar()) : std::string("a list or mapping");
    errors_.push_back(where + ": " + text + " is not a number " + line_of(node));
    return false;
  }

  void levels(const YAML::Node& node, const std::string& path, unsigned& out) {
    std::vector<std::string> names;
    if (node.IsScalar()) {
      names.push_back(node.Scalar());
    } else if (!node.IsSequence()) {
      errors_.push_back(path + ": expected a level name or a list " + line_of(node));
      return;
    } else if (!list(node, path, names)) {
      return;
    }
    unsigned bits = 0;
    for (const auto& name : names) {
      auto bit = parse_metrics_level(name);
      if (!bit) {
        errors_.push_back(path + " " + bit.error_message() + " " + line_of(node));
        return;
      }
      bits |= bit.value();
    }
    out = bits == 0 ? unsigned{level_all} : bits;  // an empty list means every level
  }

  kepler_config& config_;
  std::vector<key_binding> keys_;
  std::vector<std::string>& warnings_;
  std::vector<std::string> errors_;
  std::set<std::string> seen_;
};

/// Returns the child `name` of `parent`, creating a mapping when absent.
YAML::Node child(YAML::Node parent, const std::string& name) {
  if (!parent[name]) parent[name] = YAML::Node(YAML::NodeType::Map);
  return parent[name];
}

/// The shortest text that reads back as the same double ("0.1", not "0.10000000000000001").
std::string shortest(double value) {
  std::array<char, 32> buf{};
  auto [end, ec] = std::to_chars(buf.data(), buf.data() + buf.size(), value);
  return ec == std::errc{} ? std::string(buf.data(), end) : std::to_string(value);
}

YAML::Node sequence(const std::vector<std::string>& items) {
  YAML::Node node(YAML::NodeType::Sequence);
  for (const auto& item : items) node.push_back(item);
  if (items.empty()) node.SetStyle(YAML::EmitterStyle::Flow);  // `zones: []`, as Kepler prints
  return node;
}

YAML::Node chip_rules_node(const std::vector<hwmon_chip_rule>& rules) {
  YAML::Node list(YAML::NodeType::Sequence);
  for (const auto& rule : rules) {
    YAML::Node node(YAML::NodeType::Map);
    node["name"] = rule.chip;
    if (rule.same_index) node["useSameIndex"] = true;
    for (const auto& [from, to] : rule.pairings) node["pairings"][from] = to;
    for (int n : rule.skip_voltages) node["skipVoltages"].push_back(n);
    for (int n : rule.skip_currents) node["skipCurrents"].push_back(n);
    for (const auto& [from, to] : rule.zones) node["zones"][from] = to;
    if (rule.energy_range_uj) node["energyRangeMicrojoules"] = rule.energy_range_uj;
    list.push_back(node);
  }
  if (rules.empty()) list.SetStyle(YAML::EmitterStyle::Flow);
  return list;
}

/// `[[0, 15], [100, 128]]`: each pair in flow style.
YAML::Node curve_node(const std::vector<load_watts>& points) {
  YAML::Node node(YAML::NodeType::Sequence);
  for (const auto& point : points) {
    YAML::Node pair(YAML::NodeType::Sequence);
    pair.push_back(shortest(point.load_percent));
    pair.push_back(shortest(point.watts));
    pair.SetStyle(YAML::EmitterStyle::Flow);
    node.push_back(pair);
  }
  node.SetStyle(YAML::EmitterStyle::Flow);
  return node;
}

YAML::Node to_node(const key_target& target) {
  return std::visit(overloaded{
                        [](std::string* v) { return YAML::Node(*v); },
                        [](bool* v) { return YAML::Node(*v); },
                        [](int64_t* v) { return YAML::Node(*v); },
                        [](double* v) { return YAML::Node(shortest(*v)); },
                        [](std::chrono::nanoseconds* v) { return YAML::Node(format_duration(*v)); },
                        [](std::vector<std::string>* v) { return sequence(*v); },
                        [](std::vector<load_watts>* v) { return curve_node(*v); },
                        [](level_set v) {
                          auto names = metrics_level_names(*v.bits);
                          return names.size() == 1 ? YAML::Node(names.front()) : sequence(names);
                        },
                        [](const choice_key& key) { return YAML::Node(key.text()); },
                        [](const choice_list_key& key) { return sequence(key.texts()); },
                        [](hwmon_rules_key key) { return chip_rules_node(*key.rules); },
                    },
                    target);
}

}  // namespace

std::vector<std::string> load_yaml_file(const std::string& path, kepler_config& config,
                                        std::vector<std::string>& warnings) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    return {"config.file " + in_quotes(path) + " cannot be read: it is a directory"};
  std::ifstream in(path);
  if (!in) return {"config.file " + in_quotes(path) + " cannot be read: " + std::strerror(errno)};
  std::string text{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  if (in.bad()) return {"config.file " + in_quotes(path) + " cannot be read"};
  YAML::Node root;
  try {
    root = YAML::Load(text);
  } catch (const YAML::Exception& e) {
    return {"config.file " + in_quotes(path) + " line " + std::to_string(e.mark.line + 1) + ", column " +
            std::to_string(e.mark.column + 1) + ": " + e.msg};
  }
  return yaml_decoder(config, warnings).decode(root);
}

}  // namespace kepler::detail

namespace kepler {

std::string to_yaml(const kepler_config& config) {
  kepler_config copy = config;  // the key table binds mutable fields
  YAML::Node root(YAML::NodeType::Map);
  for (const auto& key : detail::known_keys(copy)) {
    auto path = std::string(key.path);
    auto node = root;
    size_t start = 0;
    for (auto dot = path.find('.'); dot != std::string::npos; dot = path.find('.', start)) {
      node.reset(detail::child(node, path.substr(start, dot - start)));
      start = dot + 1;
    }
    node[path.substr(start)] = detail::to_node(key.target);
  }
  YAML::Emitter out;
  out << root;
  return std::string(out.c_str()) + "\n";
}

}  // namespace kepler
