#pragma once
// Which CPUs are online, for the eBPF reader's per-CPU flush. No allocation: it runs per read.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace kepler {

/// Parses a kernel CPU list ("0-3,8,10-11", as in /sys/devices/system/cpu/online) into `cpus`,
/// reusing its storage; false on malformed text.
bool parse_cpu_list(std::string_view text, std::vector<uint32_t>& cpus);

/// The online CPUs (<sysfs_root>/devices/system/cpu/online) into `cpus`; every CPU below
/// `possible` if the list cannot be read.
void read_online_cpus(const std::string& sysfs_root, std::vector<uint32_t>& cpus, uint32_t possible);

}  // namespace kepler
