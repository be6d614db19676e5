#include "actors/stdout_exporter_actor.hpp"

#include <algorithm>
#include <chrono>

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

caf::behavior stdout_exporter(caf::stateful_actor<stdout_exporter_state>* self, std::FILE* out) {
  self->state.out = out;
  self->delayed_send(self, std::chrono::seconds(2), caf::tick_atom_v);
  return {
      [=](const snapshot_ptr& snap) { self->state.latest = snap; },
      [=](caf::tick_atom) {
        self->delayed_send(self, std::chrono::seconds(2), caf::tick_atom_v);
        if (!self->state.latest) return;
        auto table = format_node_table(*self->state.latest);
        std::fwrite(table.data(), 1, table.size(), self->state.out);
        std::fflush(self->state.out);
      },
  };
}

}  // namespace kepler
