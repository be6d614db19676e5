#pragma once
// What the eBPF reader asks the host: online CPUs and whether a process still lives.
// No allocation on these paths: they run per read or per map entry.

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace kepler {

/// Parses a kernel CPU list ("0-3,8,10-11", as in /sys/devices/system/cpu/online) into `cpus`,
/// reusing its storage; false on malformed text.
bool parse_cpu_list(std::string_view text, std::vector<uint32_t>& cpus);

/// The online CPUs into `cpus`; every CPU below `possible` if the list cannot be read.
void read_online_cpus(std::vector<uint32_t>& cpus, uint32_t possible);

/// Whether a CLOCK_BOOTTIME start in ns and a /proc/<pid>/stat starttime in clock ticks name
/// the same instant (the kernel truncates the ns to ticks; one tick of slack).
bool start_time_matches(uint64_t start_ns, uint64_t start_ticks, long ticks_per_second);

/// Field 22 (starttime, clock ticks since boot) of a /proc/<pid>/stat line.
std::optional<uint64_t> stat_start_ticks(std::string_view stat_line);

/// Whether process `tgid` started at `start_ns` is still alive: kill(tgid, 0) is not ESRCH and
/// /proc/<tgid>/stat shows the same start time (pid reuse check).
bool process_alive(uint32_t tgid, uint64_t start_ns);

}  // namespace kepler
