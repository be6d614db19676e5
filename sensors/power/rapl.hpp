#pragma once
// RAPL energy zones from the powercap sysfs tree (docs/compatibility.md §3.2).

#include <cstdint>
#include <string>
#include <vector>

#include "base/result.hpp"

namespace kepler {

/// One physical RAPL zone (one directory of the powercap tree).
struct rapl_zone {
  std::string name;            ///< `package`, `core`, `dram`, ... (`-N` suffix removed)
  int index = 0;               ///< socket from the name suffix, else a per-name running counter
  std::string path;            ///< directory holding `energy_uj`
  uint64_t max_energy_uj = 0;  ///< wrap boundary from `max_energy_range_uj`, 0 = unknown
};

/// What discovery found, plus one warning per entry it had to skip.
struct rapl_discovery {
  std::vector<rapl_zone> zones;
  std::vector<std::string> warnings;
};

/// Finds RAPL zones under `<sysfs_root>/class/powercap` (falling back to
/// `<sysfs_root>/devices/virtual/powercap`, searched recursively), keeps the standard
/// `intel-rapl:` zone over an `intel-rapl-mmio:` duplicate, and applies the
/// case-insensitive zone filter (empty = all). Broken entries are skipped with a warning.
rapl_discovery discover_rapl_zones(const std::string& sysfs_root, const std::vector<std::string>& zone_filter);

/// Reads `<zone_path>/energy_uj` (a decimal counter in microjoules).
result<uint64_t> read_energy_uj(const std::string& zone_path);

}  // namespace kepler
