// Loading the configuration: defaults → YAML file → typed flags (docs/compatibility.md §2.1).

#include "config/detail.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <utility>

#ifndef KEPLER_VERSION
#define KEPLER_VERSION "0.1.0"
#endif
#ifndef KEPLER_REVISION
#define KEPLER_REVISION ""
#endif
#ifndef KEPLER_BRANCH
#define KEPLER_BRANCH ""
#endif

namespace kepler {

namespace {

constexpr std::array<std::pair<std::string_view, unsigned>, 5> level_names{{
    {"node", level_node},
    {"process", level_process},
    {"container", level_container},
    {"vm", level_vm},
    {"pod", level_pod},
}};

config_outcome fail(config_outcome outcome, const std::vector<std::string>& errors) {
  outcome.next = config_outcome::action::exit;
  outcome.exit_code = 1;
  outcome.message = detail::join_errors("invalid configuration: ", errors);
  return outcome;
}

}  // namespace

namespace detail {

std::string trim(std::string_view text) {
  auto is_space = [](char c) { return std::isspace(static_cast<unsigned char>(c)) != 0; };
  while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
  return std::string(text);
}

std::string join_errors(std::string_view prefix, const std::vector<std::string>& errors) {
  std::string out(prefix);
  for (size_t i = 0; i < errors.size(); ++i) out += (i == 0 ? "" : ", ") + errors[i];
  return out;
}

}  // namespace detail

config_outcome load_config(int argc, const char* const* argv) {
  config_outcome outcome;
  auto flags = detail::parse_flags(argc, argv);
  outcome.warnings = std::move(flags.warnings);
  if (flags.exit) {
    outcome.next = config_outcome::action::exit;
    outcome.exit_code = flags.exit_code;
    outcome.message = std::move(flags.message);
    return outcome;
  }
  if (!flags.config_file.empty()) {
    auto errors = detail::load_yaml_file(flags.config_file, outcome.config, outcome.warnings);
    // The file must stand on its own, even where a flag would fix it later; every problem of it
    // is reported at once, those of values it could not take with the rest.
    sanitize(outcome.config);
    for (auto& problem : validate(outcome.config)) errors.push_back(std::move(problem));
    if (!errors.empty()) return fail(std::move(outcome), errors);
  }
  std::vector<std::string> errors;
  for (const auto& apply : flags.overrides) apply(outcome.config, errors);
  sanitize(outcome.config);
  for (auto& problem : validate(outcome.config)) errors.push_back(std::move(problem));
  if (!errors.empty()) return fail(std::move(outcome), errors);
  return outcome;
}

result<unsigned> parse_metrics_level(std::string_view name) {
  auto lowered = detail::trim(name);
  std::transform(lowered.begin(), lowered.end(), lowered.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  for (const auto& [level, value] : level_names)
    if (level == lowered) return value;
  return make_error(errc::parse, "\"" + std::string(name) + "\" is not one of node, process, container, vm, pod");
}

std::vector<std::string> metrics_level_names(unsigned levels) {
  std::vector<std::string> names;
  for (const auto& [level, value] : level_names)
    if ((levels & value) != 0) names.emplace_back(level);
  return names;
}

std::string version_text() {
  std::string text = "kepler version " KEPLER_VERSION;
  std::string revision = KEPLER_REVISION;
  std::string branch = KEPLER_BRANCH;
  if (!revision.empty() || !branch.empty()) {
    text += " (revision " + (revision.empty() ? std::string("unknown") : revision);
    if (!branch.empty()) text += ", branch " + branch;
    text += ")";
  }
  return text;
}

}  // namespace kepler
