#include "sensors/power/cpu_names.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <utility>
#include <vector>

#include "sensors/power/node_facts.hpp"

namespace kepler {
namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }

bool all_digits(std::string_view text) { return !text.empty() && std::all_of(text.begin(), text.end(), is_digit); }

/// `2.10ghz`, `2400mhz`, `2.10`: frequencies, with or without their unit (a bare integer is a
/// model number, as in `Xeon 3040`).
bool is_frequency(std::string_view token) {
  bool unit = false;
  for (std::string_view suffix : {"ghz", "mhz"})
    if (token.ends_with(suffix)) {
      token.remove_suffix(suffix.size());
      unit = true;
    }
  if (token.empty()) return unit;  // a lone unit after a number
  const bool numeric = std::all_of(token.begin(), token.end(), [](char c) { return is_digit(c) || c == '.'; });
  return numeric && (unit || token.find('.') != std::string_view::npos);
}

bool is_noise(std::string_view token) {
  for (std::string_view word : {"cpu", "processor", "with", "gen", "intel", "amd"})
    if (token == word) return true;
  if (token.starts_with('@') || token.ends_with("-core")) return true;
  if (token == "0") return true;  // Sandy Bridge-EP writes `E5-2660 0 @ 2.20GHz`
  // Ordinals like the `11th` of `11th Gen Intel(R) Core(TM) i7-1165G7`.
  for (std::string_view suffix : {"st", "nd", "rd", "th"})
    if (token.size() > suffix.size() && token.ends_with(suffix) && all_digits(token.substr(0, token.size() - 2)))
      return true;
  return false;
}

/// Lower case, trademarks and bracketed notes removed, and what follows a comma (SPECpower's
/// `AMD EPYC 7601 2.20 GHz, Dell SKU [338-BNCG]`).
std::string simplified(std::string_view name) {
  std::string text;
  int depth = 0;
  for (std::size_t i = 0; i < name.size() && name[i] != ','; ++i) {
    // The UTF-8 trademark signs ® and ™ that some BIOSes write.
    if (auto rest = name.substr(i); rest.starts_with("\xc2\xae") || rest.starts_with("\xe2\x84\xa2")) {
      i += rest[0] == '\xc2' ? 1 : 2;
      text += ' ';
      continue;
    }
    const char c = static_cast<char>(std::tolower(static_cast<unsigned char>(name[i])));
    if (c == '(' || c == '[') ++depth;
    if (depth == 0) text += c;
    if ((c == ')' || c == ']') && depth > 0) --depth;
  }
  return text;
}

std::vector<std::string> tokens_of(std::string_view key) {
  std::vector<std::string> tokens;
  std::size_t start = 0;
  while (start < key.size()) {
    auto end = key.find(' ', start);
    if (end == std::string_view::npos) end = key.size();
    if (end > start) tokens.emplace_back(key.substr(start, end - start));
    start = end + 1;
  }
  return tokens;
}

/// `e5-2660` `v2` or `e3-1220v2`: the version digit after a model token, or 0.
int version_after(const std::vector<std::string>& tokens, std::size_t i) {
  if (i + 1 < tokens.size() && tokens[i + 1].size() == 2 && tokens[i + 1][0] == 'v' && is_digit(tokens[i + 1][1]))
    return tokens[i + 1][1] - '0';
  return 0;
}

/// Xeon Scalable: the second digit of the model number is the generation; Cooper Lake is the
/// third generation's H/HL parts.
std::string xeon_scalable(std::string_view model) {
  if (model.size() < 4 || !all_digits(model.substr(0, 4))) return {};
  const auto suffix = model.substr(4);
  switch (model[1]) {
    case '1': return "skylake";
    case '2': return "cascadelake";
    case '3': return suffix.starts_with('h') ? "cooperlake" : "icelake";
    case '4': return "sapphirerapids";
    case '5': return "emeraldrapids";
  }
  return {};
}

/// Xeon E3/E5/E7-nnnn with an optional v2…v6.
std::string xeon_e(std::string_view model, int version) {
  if (model.starts_with("e7-") && version == 0) return "nehalem";  // Westmere-EX
  constexpr std::array<const char*, 7> by_version{"sandybridge", "",        "ivybridge", "haswell",
                                                  "broadwell",   "skylake", "kabylake"};
  return version == 1 || version >= static_cast<int>(by_version.size()) ? std::string() : by_version[version];
}

/// Xeon E-2nnn (the E3 successors): E-21nn and E-22nn are Coffee Lake, E-23nn Rocket Lake.
std::string xeon_e2(std::string_view model) {
  if (model.size() < 4) return {};
  return model[1] == '1' || model[1] == '2' ? "coffeelake" : model[1] == '3' ? "rocketlake" : "";
}

/// EPYC: 7nn1/7nn2/7nn3 are generations 1 to 3; 9nn4 and 9nn5 are 4 and 5.
std::string epyc(std::string_view model) {
  if (model.size() < 4 || !all_digits(model.substr(0, 4))) return {};
  const char series = model[0], generation = model[3];
  if (series == '7' && generation >= '1' && generation <= '3') return std::string("epyc-gen") + generation;
  if (series == '9' && (generation == '4' || generation == '5')) return std::string("epyc-gen") + generation;
  return {};
}

/// Pre-2011 Xeons: X5670, L5430, E5540, W3520, X3470.
std::string old_xeon(std::string_view token) {
  if (token.size() < 5 || std::string_view("xlwe").find(token[0]) == std::string_view::npos ||
      !all_digits(token.substr(1, 4)))
    return {};
  const char series = token[1], generation = token[2];
  if ((series == '5' || series == '7') && (generation == '5' || generation == '6')) return "nehalem";
  if (series == '3' && generation == '4') return "nehalem";
  if ((series == '3' || series == '5' || series == '7') && generation <= '4') return "core";
  return {};
}

std::string intel_family6(int model, int stepping) {
  static const std::vector<std::pair<std::vector<int>, const char*>> table{
      {{15, 23, 29}, "core"},        {{26, 30, 37, 44, 46, 47}, "nehalem"},
      {{42, 45}, "sandybridge"},     {{58, 62}, "ivybridge"},
      {{60, 63, 69, 70}, "haswell"}, {{61, 71, 79, 86}, "broadwell"},
      {{78, 94}, "skylake"},         {{142}, "kabylake"},
      {{167}, "rocketlake"},         {{106, 108}, "icelake"},
      {{143}, "sapphirerapids"},     {{207}, "emeraldrapids"},
  };
  // Model 85 is Skylake-SP, Cascade Lake (steppings 5 to 7) and Cooper Lake (10, 11).
  if (model == 85) return stepping >= 10 ? "cooperlake" : stepping >= 5 ? "cascadelake" : "skylake";
  if (model == 158) return stepping >= 10 ? "coffeelake" : "kabylake";
  for (const auto& [models, name] : table)
    if (std::find(models.begin(), models.end(), model) != models.end()) return name;
  return {};
}

std::string amd_epyc(int family, int model) {
  if (family == 23) return model == 1 ? "epyc-gen1" : model == 49 ? "epyc-gen2" : "";
  if (family == 25) return model == 1 ? "epyc-gen3" : (model == 17 || model == 160) ? "epyc-gen4" : "";
  if (family == 26) return (model == 2 || model == 17) ? "epyc-gen5" : "";
  return {};
}

}  // namespace

std::string cpu_model_key(std::string_view name) {
  std::string key;
  auto add = [&key](std::string_view token) {
    if (!key.empty()) key += ' ';
    key += token;
  };
  const auto text = simplified(name);
  for (const auto& token : tokens_of(text)) {
    if (token.empty() || is_noise(token) || is_frequency(token)) continue;
    // `e3-1220v2` → `e3-1220 v2`, as most names write it.
    const auto n = token.size();
    if (n > 3 && token[n - 2] == 'v' && is_digit(token[n - 1]) &&
        std::any_of(token.begin(), token.end() - 2, is_digit)) {
      add(std::string_view(token).substr(0, n - 2));
      add(std::string_view(token).substr(n - 2));
    } else {
      add(token);
    }
  }
  return key;
}

std::string microarchitecture_from_key(std::string_view key) {
  const auto tokens = tokens_of(key);
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    const std::string_view token = tokens[i];
    const std::string_view next = i + 1 < tokens.size() ? std::string_view(tokens[i + 1]) : std::string_view();
    if (token == "platinum" || token == "gold" || token == "silver" || token == "bronze") return xeon_scalable(next);
    if (token == "epyc") return epyc(next);
    if (token == "opteron") return "opteron";
    if ((token.starts_with("e3-") || token.starts_with("e5-") || token.starts_with("e7-")) && token.size() >= 7)
      return xeon_e(token, version_after(tokens, i));
    if (token.starts_with("e-2")) return xeon_e2(token.substr(2));
    if (auto old = old_xeon(token); !old.empty()) return old;
    if (token == "xeon" && next.size() == 4 && all_digits(next)) return "core";  // Xeon 3040, 5160, 7020
  }
  return {};
}

std::string microarchitecture_from_cpuid(const node_facts& facts) {
  if (facts.cpu_vendor == "GenuineIntel" && facts.cpu_family == 6)
    return intel_family6(facts.cpu_model_number, facts.cpu_stepping);
  if (facts.cpu_vendor == "AuthenticAMD") return amd_epyc(facts.cpu_family, facts.cpu_model_number);
  if (facts.arm_implementer == "0x41") {
    if (facts.arm_part == "0xd0c") return "neoverse-n1";
    if (facts.arm_part == "0xd40") return "neoverse-v1";
    if (facts.arm_part == "0xd49") return "neoverse-n2";
    if (facts.arm_part == "0xd4f") return "neoverse-v2";
  }
  return {};
}

std::string node_microarchitecture(const node_facts& facts) {
  auto from_name = microarchitecture_from_key(cpu_model_key(facts.cpu_model));
  return from_name.empty() ? microarchitecture_from_cpuid(facts) : from_name;
}

std::string ccf_microarchitecture(std::string_view architecture) {
  static const std::vector<std::pair<std::string_view, std::string_view>> names{
      {"sandybridge", "Sandy Bridge"},
      {"ivybridge", "Ivy Bridge"},
      {"haswell", "Haswell"},
      {"broadwell", "Broadwell"},
      {"skylake", "Skylake"},
      {"cascadelake", "Cascade Lake"},
      {"coffeelake", "Coffee Lake"},
      {"icelake", "Ice Lake"},
      {"epyc-gen1", "AMD EPYC 1st Gen"},
      {"epyc-gen2", "AMD EPYC 2nd Gen"},
      {"epyc-gen3", "AMD EPYC 3rd Gen"},
      {"neoverse-n1", "AWS Graviton2"},
  };
  for (const auto& [ours, theirs] : names)
    if (ours == architecture) return std::string(theirs);
  return {};
}

}  // namespace kepler
