#pragma once
// A busy node's snapshot for the rendering and HTTP benchmarks: `processes` running processes
// with energy and power in three RAPL zones.

#include <cstdint>
#include <memory>
#include <string>

#include "metrics/renderer.hpp"
#include "test/support/process_info.hpp"

namespace kepler::bench {

inline snapshot busy_node_snapshot(int processes) {
  snapshot snap;
  for (const char* zone : {"package", "core", "dram"})
    snap.zones.push_back(node_zone_stats{zone, std::string("/sys/class/powercap/intel-rapl:0:") + zone});
  for (int i = 0; i < processes; ++i) {
    auto info = std::make_shared<process_info>(
        testing::regular_process("worker-" + std::to_string(i % 97),
                                 "/usr/local/bin/service-binary-" + std::to_string(i % 13)));
    snap.running.push_back(process_row{{100000 + i, 1}, info, uint64_t(i) * 123'456'789, 0, 0});
    for (int z = 0; z < 3; ++z) {
      snap.running_energy_uj.push_back(uint64_t(i) * 7'654'321 + z);
      snap.running_watts.push_back(0.001 * i + z * 0.37);
    }
  }
  return snap;
}

}  // namespace kepler::bench
