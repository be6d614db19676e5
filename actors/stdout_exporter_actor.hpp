#pragma once
// The stdout exporter (docs/compatibility.md §8.3): every 2 s, a table of node zones. Detached, since a
// blocked terminal must not stall the scheduler.

#include <cstdio>
#include <string>

#include "actors/messages.hpp"

namespace kepler {

struct stdout_exporter_state {
  static inline const char* name = "stdout_exporter";
  snapshot_ptr latest;
  std::FILE* out = stdout;
};

/// The node table Kepler prints: `Zone | Power(W) | Absolute(J)`, sorted by zone.
std::string format_node_table(const snapshot& snap);

caf::behavior stdout_exporter(caf::stateful_actor<stdout_exporter_state>* self, std::FILE* out);

}  // namespace kepler
