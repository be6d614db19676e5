#include "sensors/power/hwmon.hpp"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <optional>
#include <set>
#include <system_error>

#include "base/text.hpp"
#include "sensors/power/sysfs_value.hpp"
#include "sensors/proc/procfs.hpp"

namespace kepler {

namespace fs = std::filesystem;

namespace {

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
  return out;
}

/// The files of one numbered channel of a chip, e.g. power1_average and power1_label.
struct channel_files {
  std::map<std::string, std::string> by_suffix;  ///< input, average, label, average_interval → path
  bool has(const std::string& suffix) const { return by_suffix.contains(suffix); }
  const std::string& at(const std::string& suffix) const { return by_suffix.at(suffix); }
};

/// A chip's channels of one type (energy, power, in, curr) by number.
using channels_by_number = std::map<int, channel_files>;

struct chip_files {
  std::string dir;
  std::string name;  ///< for rules: the `name` file, trimmed
  std::map<std::string, channels_by_number> by_type;
};

/// Splits `power1_average` into (power, 1, average).
bool split_attribute(const std::string& file, std::string& type, int& number, std::string& suffix) {
  static const std::vector<std::string> types = {"energy", "power", "in", "curr"};
  for (const auto& candidate : types) {
    if (!file.starts_with(candidate)) continue;
    std::string_view rest = std::string_view(file).substr(candidate.size());
    auto underscore = rest.find('_');
    if (underscore == std::string_view::npos || underscore == 0) return false;
    if (!parse_decimal(rest.substr(0, underscore), number) || number < 0) return false;
    type = candidate;
    suffix = std::string(rest.substr(underscore + 1));
    return true;
  }
  return false;
}

std::string trimmed_file(const std::string& path) {
  auto text = read_text_file(path);
  return text ? std::string(trim_space(text.value())) : std::string();
}

/// Kepler's chip name: from the device the chip belongs to, else its `name`, else its directory.
std::string chip_display_name(const fs::path& dir, const std::string& name_file) {
  std::error_code ec;
  auto device = fs::canonical(dir / "device", ec);
  if (!ec) {
    auto type = clean_hwmon_name(device.parent_path().filename().string());
    auto dev = clean_hwmon_name(device.filename().string());
    if (!type.empty() && !dev.empty()) return type + "_" + dev;
    if (!dev.empty()) return dev;
  }
  if (auto cleaned = clean_hwmon_name(name_file); !cleaned.empty()) return cleaned;
  return clean_hwmon_name(dir.filename().string());
}

chip_files list_chip(const fs::path& dir, std::vector<std::string>& warnings) {
  chip_files chip{dir.string(), trimmed_file((dir / "name").string()), {}};
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::string type, suffix;
    int number = 0;
    if (split_attribute(it->path().filename().string(), type, number, suffix))
      chip.by_type[type][number].by_suffix[suffix] = it->path().string();
  }
  if (ec) warnings.push_back("unable to list hwmon chip " + dir.string() + ": " + ec.message());
  return chip;
}

const hwmon_chip_rule* rule_for(const std::string& chip_name, const std::vector<hwmon_chip_rule>& configured) {
  auto wanted = lower(trim_space(chip_name));
  for (const auto* rules : {&configured, &builtin_hwmon_chip_rules()})
    for (const auto& rule : *rules)
      if (lower(trim_space(rule.chip)) == wanted) return &rule;
  return nullptr;
}

/// The zone of a channel: what the rule maps its id or label to, else its label, else chip_id.
std::string zone_name(const hwmon_chip_rule* rule, const std::string& chip, const std::string& id,
                      const std::string& label) {
  if (rule) {
    for (const auto& key : {id, label}) {
      if (key.empty()) continue;
      for (const auto& [from, to] : rule->zones)
        if (lower(from) == lower(key)) return to;
    }
  }
  if (auto cleaned = clean_hwmon_name(label); !cleaned.empty()) return cleaned;
  return chip + "_" + id;
}

std::string label_of(const channel_files& files) { return files.has("label") ? trimmed_file(files.at("label")) : ""; }

std::vector<hwmon_channel> energy_channels(const chip_files& chip, const std::string& chip_name,
                                           const hwmon_chip_rule* rule) {
  std::vector<hwmon_channel> out;
  auto found = chip.by_type.find("energy");
  if (found == chip.by_type.end()) return out;
  for (const auto& [number, files] : found->second) {
    if (!files.has("input")) continue;
    hwmon_channel channel;
    channel.chip = chip_name;
    channel.id = "energy" + std::to_string(number);
    channel.zone = zone_name(rule, chip_name, channel.id, label_of(files));
    channel.kind = hwmon_channel_kind::energy;
    channel.path = files.at("input");
    channel.energy_range_uj = rule ? rule->energy_range_uj : 0;
    out.push_back(std::move(channel));
  }
  return out;
}

std::vector<hwmon_channel> power_channels(const chip_files& chip, const std::string& chip_name,
                                          const hwmon_chip_rule* rule) {
  std::vector<hwmon_channel> out;
  auto found = chip.by_type.find("power");
  if (found == chip.by_type.end()) return out;
  for (const auto& [number, files] : found->second) {
    // An average covers an interval, which integration wants; an instant reading otherwise.
    const char* value = files.has("average") ? "average" : files.has("input") ? "input" : nullptr;
    if (!value) continue;
    hwmon_channel channel;
    channel.chip = chip_name;
    channel.id = "power" + std::to_string(number);
    channel.zone = zone_name(rule, chip_name, channel.id, label_of(files));
    channel.kind = hwmon_channel_kind::power;
    channel.path = files.at(value);
    if (std::string(value) == "average" && files.has("average_interval"))
      if (auto ms = read_unsigned_file(files.at("average_interval")); ms && ms.value() > 0)
        channel.average_interval = std::chrono::milliseconds(ms.value());
    out.push_back(std::move(channel));
  }
  return out;
}

/// The current channel a voltage pairs with: the rule's pairing, else the same label, else the
/// same number (what most drivers do).
std::optional<int> current_for(int voltage, const channel_files& voltage_files, const channels_by_number& currents,
                               const hwmon_chip_rule* rule) {
  if (rule) {
    if (std::find(rule->skip_voltages.begin(), rule->skip_voltages.end(), voltage) != rule->skip_voltages.end())
      return std::nullopt;
    if (!rule->same_index) {
      if (rule->pairings.empty()) return currents.contains(voltage) ? std::optional(voltage) : std::nullopt;
      auto paired = rule->pairings.find(voltage);
      return paired == rule->pairings.end() ? std::nullopt : std::optional(paired->second);
    }
    return currents.contains(voltage) ? std::optional(voltage) : std::nullopt;
  }
  if (auto label = lower(label_of(voltage_files)); !label.empty())
    for (const auto& [number, files] : currents)
      if (lower(label_of(files)) == label) return number;
  return currents.contains(voltage) ? std::optional(voltage) : std::nullopt;
}

std::vector<hwmon_channel> voltage_current_channels(const chip_files& chip, const std::string& chip_name,
                                                    const hwmon_chip_rule* rule) {
  std::vector<hwmon_channel> out;
  auto voltages = chip.by_type.find("in");
  auto currents = chip.by_type.find("curr");
  if (voltages == chip.by_type.end() || currents == chip.by_type.end()) return out;
  for (const auto& [number, files] : voltages->second) {
    auto current = current_for(number, files, currents->second, rule);
    if (!current || !files.has("input")) continue;
    auto paired = currents->second.find(*current);
    if (paired == currents->second.end() || !paired->second.has("input")) continue;
    if (rule &&
        std::find(rule->skip_currents.begin(), rule->skip_currents.end(), *current) != rule->skip_currents.end())
      continue;
    hwmon_channel channel;
    channel.chip = chip_name;
    channel.id = "in" + std::to_string(number) + "*curr" + std::to_string(*current);
    std::string label = label_of(files);
    if (label.empty()) label = label_of(paired->second);
    channel.zone = zone_name(rule, chip_name, "in" + std::to_string(number), label);
    channel.kind = hwmon_channel_kind::voltage_current;
    channel.path = files.at("input");
    channel.current_path = paired->second.at("input");
    out.push_back(std::move(channel));
  }
  return out;
}

std::vector<fs::path> list_chips(const fs::path& root, std::vector<std::string>& warnings) {
  std::vector<fs::path> chips;
  std::error_code ec;
  for (fs::directory_iterator it(root, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code dir_ec;
    if (it->is_directory(dir_ec)) chips.push_back(it->path());  // follows the class symlinks
  }
  if (ec) warnings.push_back("unable to list " + root.string() + ": " + ec.message());
  std::sort(chips.begin(), chips.end());
  return chips;
}

}  // namespace

std::string clean_hwmon_name(std::string_view text) {
  std::string out;
  for (char ch : lower(trim_space(text))) out += std::isalnum(static_cast<unsigned char>(ch)) || ch == ':' ? ch : '_';
  while (!out.empty() && out.back() == '_') out.pop_back();
  while (!out.empty() && out.front() == '_') out.erase(out.begin());
  return out;
}

const std::vector<hwmon_chip_rule>& builtin_hwmon_chip_rules() {
  // Indices per the chips' kernel driver documentation (Documentation/hwmon/<driver>.rst).
  auto one_to_one = [](std::string chip, std::vector<int> skip_voltages = {}) {
    return hwmon_chip_rule{std::move(chip), {{1, 1}}, std::move(skip_voltages), {}, false, {}, 0};
  };
  auto same = [](std::string chip, std::vector<int> skip_voltages = {}, std::vector<int> skip_currents = {}) {
    return hwmon_chip_rule{std::move(chip), {}, std::move(skip_voltages), std::move(skip_currents), true, {}, 0};
  };
  static const std::vector<hwmon_chip_rule> rules = {
      same("ina3221", {4, 5, 6, 7}),  // in1-3 bus voltages, in4-6 shunt voltages, in7 their sum
      one_to_one("ina219", {0}),      // in0 shunt voltage, in1 bus voltage
      one_to_one("ina209", {0}),
      one_to_one("ina226", {0}),
      one_to_one("ina238", {0}),
      one_to_one("ina260"),
      one_to_one("ina233", {2}),   // in2 shunt voltage
      one_to_one("ltc2945", {2}),  // in2 auxiliary ADC
      hwmon_chip_rule{"ltc2947", {{0, 1}}, {}, {}, false, {}, 0},
      one_to_one("ltc4260", {2}),
      one_to_one("ltc4261", {2}),
      hwmon_chip_rule{"ltc2992", {{0, 1}, {2, 2}}, {1, 3, 4, 5}, {}, false, {}, 0},
      one_to_one("ltc4282", {2, 3, 4}),
      one_to_one("adm1275"),
      one_to_one("adm1276"),
      one_to_one("adm1278"),
      one_to_one("adm1293"),
      hwmon_chip_rule{"max20730", {{2, 1}}, {}, {}, false, {}, 0},  // curr1 is the output current: VOUT is in2
      hwmon_chip_rule{"max20751", {{2, 1}}, {}, {}, false, {}, 0},
      same("max34440", {}, {7, 8}),  // curr7-8 are current-only channels
      same("max34451"),
      same("tps40422"),
      same("tps53679"),
      same("tps546d24"),
      same("ir35221"),
      same("xdpe12284"),
      hwmon_chip_rule{"mp2975", {{1, 1}}, {}, {2, 3, 4, 5, 6, 7, 8}, false, {}, 0},  // per-phase currents
      same("pmbus"),
      same("ucd9000"),
      same("ucd90320"),
  };
  return rules;
}

hwmon_discovery discover_hwmon(const std::string& sysfs_root, const std::vector<hwmon_chip_rule>& rules,
                               const std::vector<std::string>& zone_filter) {
  hwmon_discovery out;
  const fs::path root = fs::path(sysfs_root) / "class" / "hwmon";
  std::error_code ec;
  if (!fs::is_directory(root, ec)) {
    out.warnings.push_back("no hwmon tree at " + root.string());
    return out;
  }
  std::set<std::string> wanted;
  for (const auto& zone : zone_filter)
    if (auto trimmed = trim_space(zone); !trimmed.empty()) wanted.insert(lower(trimmed));
  std::size_t before_filter = 0;
  for (const auto& dir : list_chips(root, out.warnings)) {
    auto chip = list_chip(dir, out.warnings);
    auto name = chip_display_name(dir, chip.name);
    const auto* rule = rule_for(chip.name.empty() ? name : chip.name, rules);
    auto channels = energy_channels(chip, name, rule);  // counters first: nothing to integrate
    if (channels.empty()) channels = power_channels(chip, name, rule);
    if (channels.empty()) channels = voltage_current_channels(chip, name, rule);
    before_filter += channels.size();
    for (auto& channel : channels) {
      channel.driver = chip.name;
      if (wanted.empty() || wanted.contains(lower(channel.zone))) out.channels.push_back(std::move(channel));
    }
  }
  if (out.channels.empty() && before_filter > 0) {
    std::string list;
    for (const auto& zone : wanted) list += (list.empty() ? "" : ", ") + zone;
    out.warnings.push_back("no hwmon zones left after filtering (experimental.hwmon.zones: " + list + ")");
  }
  return out;
}

result<uint64_t> read_hwmon_value(const hwmon_channel& channel) {
  if (channel.kind != hwmon_channel_kind::voltage_current) return read_unsigned_file(channel.path);
  auto millivolts = read_signed_file(channel.path);
  if (!millivolts) return millivolts.error();
  auto milliamps = read_signed_file(channel.current_path);
  if (!milliamps) return milliamps.error();
  if (millivolts.value() < 0 || milliamps.value() < 0)
    return make_error(errc::parse, "negative power from " + channel.path + " (" + std::to_string(millivolts.value()) +
                                       " mV) × " + channel.current_path + " (" + std::to_string(milliamps.value()) +
                                       " mA)");
  return static_cast<uint64_t>(millivolts.value()) * static_cast<uint64_t>(milliamps.value());  // mV × mA = µW
}

}  // namespace kepler
