#pragma once
// The stdout exporter (docs/compatibility.md §8.3): every 2 s, the table of node zones
// (metrics/stdout_table). Detached, since a blocked terminal must not stall the scheduler.

#include <cstdio>

#include "actors/messages.hpp"

namespace kepler {

struct stdout_exporter_state {
  static inline const char* name = "stdout_exporter";
  snapshot_ptr latest;
  std::FILE* out = stdout;
};

/// Keeps the latest snapshot and prints its table on its own 2 s tick.
using stdout_exporter_actor = snapshot_sink::extend<caf::reacts_to<caf::tick_atom>>;

stdout_exporter_actor::behavior_type stdout_exporter(
    stdout_exporter_actor::stateful_pointer<stdout_exporter_state> self, std::FILE* out);

}  // namespace kepler
