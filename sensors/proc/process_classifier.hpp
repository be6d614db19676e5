#pragma once
// Says what a new process is (docs/compatibility.md §4.3): a container process (from its cgroups), else a
// VM's hypervisor (from its command line), else regular. Runs once per process lifetime.

#include "sensors/proc/process_scanner.hpp"

namespace kepler {

/// Reads `cgroup`, then `environ` or `cmdline` as needed, and fills `info`'s classification.
/// Unreadable files leave the process regular: a race with exit is not an error.
void classify_process(const process_files& files, process_info& info);

}  // namespace kepler
