#pragma once
// What the daemon runs with: its capabilities (from /proc/<pid>/status) and whether it was
// started with privileges its invoker lacks (setuid, setgid).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "base/result.hpp"

namespace kepler {

/// A capability set as the kernel reports it: bit N is capability N of <linux/capability.h>.
using capability_mask = uint64_t;

/// The capability set `field` (`CapEff`, `CapPrm`, `CapBnd`, …) of a /proc/<pid>/status text.
result<capability_mask> parse_status_capabilities(std::string_view status, std::string_view field = "CapEff");

/// `CAP_SYS_PTRACE, CAP_PERFMON, CAP_BPF` (in bit order), `none`, or `all (…)` when the mask
/// holds every capability the kernel headers of 2024 know (0 to 40). Bits above those are
/// named by number (`cap_41`).
std::string capability_names(capability_mask mask);

/// The real and effective user and group ids of this process.
struct process_ids {
  uint32_t uid = 0, euid = 0, gid = 0, egid = 0;
};

/// This process's ids.
process_ids current_process_ids();

/// Why running is refused, or nullopt: a setuid or setgid start (real and effective ids
/// differ) would let any user drive a privileged daemon through its flags and files.
/// File capabilities (setcap) are not refused: they grant only the capabilities named.
std::optional<std::string> elevated_start_reason(const process_ids& ids);

/// One log line: uid, gid and the effective capabilities read from `<procfs>/self/status`.
std::string describe_privileges(const std::string& procfs_root, const process_ids& ids);

}  // namespace kepler
