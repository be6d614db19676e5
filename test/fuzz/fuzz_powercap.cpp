// Powercap values: a RAPL zone's `name`, `max_energy_range_uj` and successive `energy_uj`
// readings, written to a real sysfs-like tree and read back by discovery and the sampler's
// reader, then fed to the wrap-correcting energy counter.
//
// Input: line 1 is `name`, line 2 `max_energy_range_uj`, each further line one `energy_uj`
// content, optionally followed by a tab and the milliseconds since the previous reading
// (default 1000).

#include <charconv>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "base/text.hpp"
#include "sensors/power/energy_counter.hpp"
#include "sensors/power/rapl.hpp"
#include "test/fuzz/fuzz_support.hpp"

namespace {

using namespace kepler;

constexpr std::size_t max_readings = 64;
constexpr double max_watts = 10'000.0;  // rapl.maxPlausibleWatts' default

std::vector<std::string_view> split_lines(std::string_view text) {
  std::vector<std::string_view> lines;
  while (!text.empty() && lines.size() < max_readings + 2) {
    const auto end = text.find('\n');
    lines.push_back(text.substr(0, end));
    if (end == std::string_view::npos) break;
    text.remove_prefix(end + 1);
  }
  return lines;
}

/// The reading's file content and the time since the previous one.
std::pair<std::string_view, int64_t> split_reading(std::string_view line) {
  const auto tab = line.find('\t');
  uint32_t elapsed_ms = 1000;
  if (tab != std::string_view::npos) {
    const auto ms = line.substr(tab + 1);
    std::from_chars(ms.data(), ms.data() + ms.size(), elapsed_ms);
    line = line.substr(0, tab);
  }
  return {line, static_cast<int64_t>(elapsed_ms) * 1'000'000};
}

/// The zone directory, when discovery accepts it; checks what discovery read.
std::optional<rapl_zone> discover(std::string_view name, std::string_view max_text, std::string_view first) {
  const auto& dir = fuzz::scratch();
  dir.write("sys/class/powercap/intel-rapl:0/name", name);
  dir.write("sys/class/powercap/intel-rapl:0/max_energy_range_uj", max_text);
  dir.write("sys/class/powercap/intel-rapl:0/energy_uj", first);
  auto found = discover_rapl_zones(dir.path("sys"), {});
  KEPLER_FUZZ_CHECK(found.zones.size() + found.warnings.size() >= 1, "a zone or the reason why not");
  if (found.zones.empty()) return std::nullopt;
  KEPLER_FUZZ_CHECK(found.zones.size() == 1, "one directory, one zone");
  uint64_t max_uj = 0;
  KEPLER_FUZZ_CHECK(parse_decimal(trim_space(max_text), max_uj) && max_uj == found.zones[0].max_energy_uj,
                    "the wrap boundary is the file's value");
  return found.zones[0];
}

/// Feeds every reading that reads back to a counter; the total is the sum of what it accepted,
/// and no accepted step implies more than the plausible power or one wrap.
void count(const rapl_zone& zone, const std::vector<std::string_view>& lines) {
  energy_counter counter(counter_limits{zone.max_energy_uj, max_watts});
  int64_t now_ns = 0, last_accepted_ns = 0;
  uint64_t sum = 0;
  for (std::size_t i = 2; i < lines.size(); ++i) {
    const auto [content, elapsed_ns] = split_reading(lines[i]);
    now_ns += elapsed_ns;
    fuzz::scratch().write("sys/class/powercap/intel-rapl:0/energy_uj", content);
    auto raw = read_energy_uj(zone.path);
    if (!raw) continue;
    const bool baseline = !counter.has_reading();
    const auto step = counter.update(raw.value(), now_ns);
    if (step.verdict != reading_verdict::accepted) {
      KEPLER_FUZZ_CHECK(step.delta_uj == 0, "a rejected reading adds nothing");
      continue;
    }
    if (!baseline) {
      const double seconds = static_cast<double>(now_ns - last_accepted_ns) / 1e9 + 0.010;
      KEPLER_FUZZ_CHECK(static_cast<double>(step.delta_uj) <= max_watts * 1e6 * seconds + 1.0, "plausible power");
      if (zone.max_energy_uj != 0) KEPLER_FUZZ_CHECK(step.delta_uj <= zone.max_energy_uj, "at most one wrap");
    }
    last_accepted_ns = now_ns;
    KEPLER_FUZZ_CHECK(sum + step.delta_uj >= sum, "the total does not wrap");
    sum += step.delta_uj;
    KEPLER_FUZZ_CHECK(counter.total_uj() == sum, "the total is the sum of the accepted steps");
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const auto lines = split_lines(kepler::fuzz::as_text(data, size));
  if (lines.size() < 2) return 0;
  const auto first = lines.size() > 2 ? split_reading(lines[2]).first : std::string_view{};
  if (auto zone = discover(lines[0], lines[1], first)) count(*zone, lines);
  return 0;
}
