#include "metrics/stdout_table.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace kepler {

std::string format_node_table(const snapshot& snap) {
  auto zones = snap.zones;
  std::sort(zones.begin(), zones.end(), [](auto& a, auto& b) { return a.name < b.name; });
  std::string table = fmt::format("{:>10} | {:>12} | {:>16}\n", "Zone", "Power(W)", "Absolute(J)");
  for (const auto& zone : zones)
    table += fmt::format("{:>10} | {:>12} | {:>16}\n", zone.name, fmt::format("{:.2f}W", zone.watts),
                         fmt::format("{:.2f}J", static_cast<double>(zone.total_uj) / 1e6));
  return table;
}

}  // namespace kepler
