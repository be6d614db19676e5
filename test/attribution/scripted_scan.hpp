#pragma once
// What the attribution tests share: USER_HZ ticks, a node of one package zone, and a CPU scan
// as the process scanner would give it.

#include <cstdint>
#include <memory>
#include <vector>

#include "attribution/attribution.hpp"

namespace kepler::test {

inline constexpr uint64_t ns_per_tick = 10'000'000;  // USER_HZ = 100
inline constexpr int64_t second = 1'000'000'000;

inline std::vector<physical_zone> one_package() { return {{"package", 0, "/sys/class/powercap/intel-rapl:0", 0}}; }

/// A scan of a node with these busy and idle ticks and these processes, at `uptime_ns`.
inline std::shared_ptr<const process_table> scan_of(uint64_t busy_ticks, uint64_t idle_ticks,
                                                    std::vector<process_sample> processes, uint64_t uptime_ns) {
  auto table = std::make_shared<process_table>();
  table->node.user = busy_ticks;
  table->node.idle = idle_ticks;
  table->processes = std::move(processes);
  table->ns_per_tick = ns_per_tick;
  table->uptime_ns = uptime_ns;
  return table;
}

}  // namespace kepler::test
