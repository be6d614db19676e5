#pragma once
// The stdout exporter's table (docs/compatibility.md §8.3): node zones with watts and joules.

#include <string>

#include "attribution/snapshot.hpp"

namespace kepler {

/// The node table Kepler prints: `Zone | Power(W) | Absolute(J)`, sorted by zone.
std::string format_node_table(const snapshot& snap);

}  // namespace kepler
